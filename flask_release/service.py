"""gunicorn under supervisor in two colors, blue and green, each on a port of its own: a release
starts in the idle color beside the live one, answers its health check, nginx switches to it
with a graceful reload, and the live one drains and stops. A release, a rollback and a settings
change all switch so; and the one health check, which counts only the gunicorn root started: the
color's port must be held by root's socket (app-exec's), not by a process of anyone else's."""

import http.client
import os
import re
import signal
import socket
import ssl
import time
import xmlrpc.client
from urllib.parse import urlsplit

from . import nginx, sockets
from .run import Failed
from .text import visible

COLORS = ("blue", "green")
DRAIN_SECONDS = 30
SUPERVISOR_SOCKET = "/var/run/supervisor.sock"  # Debian's supervisord.conf
BAD_NAME, ALREADY_STARTED, NOT_RUNNING = 10, 60, 70  # supervisor's fault codes
GONE = ("FATAL", "EXITED", "STOPPED")  # what supervisor reports of a gunicorn that did not stay up
SIGNALS_AT_ONCE = 4  # gunicorn's master keeps at most 5 signals waiting
PROBE_SECONDS = 5  # the longest one health probe may take, all of it (connecting, TLS, the answer)
STATUS_LINE = re.compile(rb"^HTTP/1\.[01] ([1-5][0-9][0-9])(?: |$)")


class NotHTTP(ValueError):
    """What answered is not an HTTP server."""


def other(color):
    return COLORS[1 - COLORS.index(color)]


class Service:
    def __init__(self, runner, config):
        self.runner, self.config = runner, config

    def program(self, color):
        return f"{self.config.app_name}-{color}"

    def port(self, color):
        return self.config.gunicorn_ports[COLORS.index(color)]

    def url(self, color):
        return f"http://{self.config.gunicorn_host}:{self.port(color)}{self.config.health_path}"

    def start(self, color):
        """The color's gunicorn started afresh (on what its slot points at now), with its program's
        settings as they are now; not waiting out supervisor's startsecs: the color's health check
        tells sooner."""
        rpc = supervisor().supervisor
        _quietly(rpc.stopProcess, self.program(color))  # an idle color that runs runs what it ran
        changes = rpc.reloadConfig()[0]  # supervisorctl reread
        # the one program of an earlier version, this color's and the boot program's settings
        self.update(changes, self.config.app_name, self.program(color), f"{self.config.app_name}-live")
        if self.program(other(color)) in changes[0]:  # known to supervisor as after a boot, never restarted
            rpc.addProcessGroup(self.program(other(color)))
        try:
            rpc.startProcess(self.program(color), False)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != ALREADY_STARTED:
                raise Failed(
                    f"supervisor cannot start {self.program(color)} ({fault.faultString}); "
                    f"see {self.config.log_dir}/error.log"
                ) from None

    def stop(self, color):
        rpc = supervisor().supervisor
        _quietly(rpc.stopProcess, self.program(color))
        self.update(rpc.reloadConfig()[0], self.program(color))  # settings changed meanwhile: at its next start

    @staticmethod
    def update(changes, *groups):
        """supervisorctl update of `groups`: (added, changed, removed) by reloadConfig, applied."""
        rpc = supervisor().supervisor
        added, changed, removed = changes
        for group in groups:
            if group in changed or group in removed:
                _quietly(rpc.stopProcessGroup, group)
                rpc.removeProcessGroup(group)
            if group in changed or group in added:
                rpc.addProcessGroup(group)

    def running(self, color):
        return self.state(color) in ("RUNNING", "STARTING")

    def state(self, color):
        try:
            return supervisor().supervisor.getProcessInfo(self.program(color))["statename"]
        except xmlrpc.client.Fault:  # not known to supervisor (yet)
            return None

    def master(self, color):
        """The pid of the color's gunicorn master, as supervisor knows it; 0 when it does not run."""
        try:
            return supervisor().supervisor.getProcessInfo(self.program(color))["pid"]
        except xmlrpc.client.Fault:
            return 0

    def fewer_workers(self):
        """How many workers the live color drops while the next starts beside it (gunicorn's TTOU,
        each once its request is answered): half, so that the two hold well under twice the app's
        memory."""
        return min(self.config.workers - max(1, self.config.workers // 2), SIGNALS_AT_ONCE)

    def shrink(self, color, count):
        self.send_to_master(color, signal.SIGTTOU, count)

    def grow(self, color, count):
        """`count` workers given back to the color (gunicorn's TTIN): the switch away from it did not happen."""
        self.send_to_master(color, signal.SIGTTIN, count)

    def send_to_master(self, color, number, count):
        """`count` signals to the color's master, one at a time (the same signal sent twice at
        once would count once)."""
        master = self.master(color) if count > 0 else 0
        for _ in range(min(count, SIGNALS_AT_ONCE) if master else 0):
            os.kill(master, number)
            time.sleep(0.1)

    def drain(self, color):
        """Waits (at most DRAIN_SECONDS) until nginx's workers of before its reload are gone (one
        may hold a request it has read and not yet passed on to the color) and no connection of
        nginx's to the color's port is open (this host's nginx, or another host's): no process of
        anyone else's can stretch it."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while True:
            old_workers = nginx.workers(shutting_down=True)
            connections = sockets.connections_of(self.port(color), nginx.accounts(old_workers | nginx.workers()))
            if not old_workers and not connections:
                return
            if time.monotonic() >= deadline:
                self.runner.say(
                    f"waited {DRAIN_SECONDS} s for nginx to finish with {self.program(color)} ({len(old_workers)} "
                    f"workers from before its reload, {len(connections)} connections open): stopping it anyway"
                )
                return
            time.sleep(0.1)

    def route(self, color, release):
        """nginx of this host sends the site's requests to `color` and serves /static from the
        folder of `release`, which the color runs (a graceful reload), when this host's nginx
        fronts its gunicorn alone; other layouts balance over both colors."""
        if self.config.nginx_upstream_link:
            static = self.config.static_path and nginx.serve_static(
                self.config.paths.static_config,
                f"{self.config.paths.releases}/{release}/{self.config.static_path.strip('/')}",
                self.config.paths.program,
            )
            nginx.relink(self.runner, self.config.nginx_upstream_link, f"upstream-{color}.conf", changed=static)

    def foreign_listener(self, color):
        """Who holds the color's port other than the gunicorn root started there, or None."""
        holder = sockets.foreign_listener(self.port(color))
        if holder:
            return (
                f"port {self.port(color)} of {self.program(color)} is held by {holder}, not by the gunicorn "
                "supervisor started: stop that process"
            )
        return None

    def gone(self, color):
        """What supervisor says of the color when it is not running nor starting, else None."""
        state = self.state(color)
        if state in GONE:
            return f"supervisor reports {self.program(color)} {state}; see {self.config.log_dir}/error.log"
        return None

    def health(self, seconds=None, url=None, color=None, highest=None):
        """(healthy, what answered) of `url` (default: the site through this host's nginx) within
        `seconds` (default health_check_seconds; one probe more at most, PROBE_SECONDS), healthy with a
        status from 200 to `highest` (default health_check_max_status); given the `color` that answers,
        sooner when it stops, and unhealthy when another process holds its port."""
        highest = self.config.health_check_max_status if highest is None else highest
        seconds = self.config.health_check_seconds if seconds is None else seconds
        url = url or self.config.site_url + self.config.health_path
        deadline = time.monotonic() + seconds
        while True:
            try:
                status = probe(url, self.config.health_host)
                answer = f"HTTP {status}"
            except (OSError, NotHTTP) as error:
                status, answer = None, f"no answer ({error})"
            if color and (holder := self.foreign_listener(color)):
                return False, f"{url}: {answer}; {holder}"
            if status and 200 <= status <= highest:
                return True, answer
            if time.monotonic() >= deadline:
                return False, f"{url} (Host {self.config.health_host}): {answer} for {seconds} s"
            if color and (gone := self.gone(color)):
                return False, f"{url}: {answer}; {gone}"
            time.sleep(0.2)


class _SupervisorConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(SUPERVISOR_SOCKET)


class _SupervisorTransport(xmlrpc.client.Transport):
    def make_connection(self, host):
        return _SupervisorConnection("localhost", timeout=60)


def _quietly(call, name):
    """A stop of what may not run, or not be known: a no-op then."""
    try:
        call(name)
    except xmlrpc.client.Fault as fault:
        if fault.faultCode not in (BAD_NAME, NOT_RUNNING):
            raise


def supervisor():
    """supervisord's XML-RPC interface, on its (root's) socket."""
    return xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=_SupervisorTransport())


def probe(url, host, timeout=PROBE_SECONDS):
    """The status of a GET of url with this Host header (and TLS server name), certificate
    unchecked (the site's own certificate may be self-signed, and its name is not what is checked
    here), within `timeout` seconds in all: a peer that trickles its answer does not hold it
    longer. Nothing of the answer is read past its status line."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    deadline = time.monotonic() + timeout

    def left():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return remaining

    try:
        connection = socket.create_connection((parts.hostname, port), timeout=left())
        try:
            if parts.scheme == "https":
                context = ssl.create_default_context()
                context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
                connection.settimeout(left())  # the handshake's deadline, all of it
                connection = context.wrap_socket(connection, server_hostname=host)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            headers = f"Host: {host}\r\nUser-Agent: release health check\r\nConnection: close\r\n"
            connection.settimeout(left())
            connection.sendall(f"GET {path} HTTP/1.1\r\n{headers}\r\n".encode())
            answer = b""
            while b"\n" not in answer and len(answer) < 1024:
                connection.settimeout(left())
                chunk = connection.recv(1024)
                if not chunk:
                    break
                answer += chunk
        finally:
            connection.close()
    except TimeoutError:
        raise TimeoutError(f"no status line within {timeout:.0f} s") from None
    line = answer.split(b"\n", 1)[0].rstrip(b"\r")
    match = STATUS_LINE.match(line)
    if not match:
        raise NotHTTP(f"not an HTTP answer: {visible(line[:100].decode(errors='replace'))!r}")
    return int(match.group(1))
