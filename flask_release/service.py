"""gunicorn under supervisor in two colors, blue and green, each on a port of its own: a release
starts in the idle color beside the live one, answers its health check, nginx switches to it
with a graceful reload, and the live one drains and stops. A release, a rollback and a settings
change all switch so; and the one health check."""

import http.client
import os
import socket
import ssl
import subprocess
import time
from urllib.parse import urlsplit

from .run import Failed

COLORS = ("blue", "green")
DRAIN_SECONDS = 30


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

    def supervisorctl(self, *args):
        result = self.runner.run(
            ["supervisorctl", *args], what=f"supervisorctl {' '.join(args)}", timeout=120, capture=True, check=False
        )
        return result.out.decode(errors="replace")

    def start(self, color):
        """The color's gunicorn started afresh (on what its slot points at now), with its program's
        settings as they are now."""
        self.supervisorctl("stop", self.program(color))  # an idle color that runs runs what it ran
        changes = self.supervisorctl("reread")
        if f"{self.config.app_name}: disappeared" in changes:  # the one program of an earlier version
            self.supervisorctl("update", self.config.app_name)
        self.supervisorctl("update", self.program(color), f"{self.config.app_name}-live")
        # the other color known to supervisor as after a boot (`add` never restarts a running one)
        self.supervisorctl("add", self.program(other(color)))
        answer = self.supervisorctl("start", self.program(color))
        if "started" not in answer and "already started" not in answer:
            raise Failed(
                f"supervisor cannot start {self.program(color)} ({answer.strip()}); see {self.config.log_dir}/error.log"
            )

    def stop(self, color):
        self.supervisorctl("stop", self.program(color))
        self.supervisorctl("update", self.program(color))  # settings changed meanwhile apply to its next start

    def running(self, color):
        return " RUNNING " in self.supervisorctl("status", self.program(color))

    def drain(self, color):
        """Waits (at most DRAIN_SECONDS) until no connection to the color's port is open."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            connections = subprocess.run(
                ["ss", "-Htn", "state", "established", f"( sport = :{self.port(color)} )"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            if not connections:
                return
            time.sleep(0.1)

    def route(self, color):
        """nginx of this host sends the site's requests to `color` (a graceful reload), when this
        host's nginx fronts its gunicorn alone; other layouts balance over both colors."""
        link = self.config.nginx_upstream_link
        if not link:
            return
        previous = os.readlink(link) if os.path.islink(link) else None
        wanted = f"upstream-{color}.conf"
        if previous == wanted:
            return
        os.symlink(wanted, f"{link}.next")
        os.replace(f"{link}.next", link)
        checked = self.runner.run(["nginx", "-t", "-q"], what="nginx -t", timeout=60, capture=True, check=False)
        if checked.code != 0:
            if previous:
                os.symlink(previous, f"{link}.next")
                os.replace(f"{link}.next", link)
            raise Failed(f"nginx rejects its config ({checked.err.decode(errors='replace').strip()})")
        self.runner.run(["systemctl", "reload", "nginx"], what="reloading nginx", timeout=60)

    def health(self, seconds=None, url=None):
        """(healthy, what answered) of `url` (default: the site through this host's nginx) within
        `seconds` (default health_seconds)."""
        seconds = self.config.health_seconds if seconds is None else seconds
        url = url or self.config.site_url + self.config.health_path
        deadline = time.monotonic() + seconds
        while True:
            try:
                status = probe(url, self.config.health_host)
                answer = f"HTTP {status}"
                if 200 <= status <= self.config.health_max_status:
                    return True, answer
            except (OSError, http.client.HTTPException) as error:
                answer = f"no answer ({error})"
            if time.monotonic() >= deadline:
                return False, f"{url} (Host {self.config.health_host}): {answer} for {seconds} s"
            time.sleep(0.2)


def probe(url, host, timeout=5):
    """The status of a GET of url with this Host header (and TLS server name), certificate unchecked:
    the site's own certificate may be self-signed, and its name is not what is checked here."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        connection.sock = context.wrap_socket(
            socket.create_connection((parts.hostname, port), timeout=timeout), server_hostname=host
        )
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", path, headers={"Host": host, "User-Agent": "release health check"})
        return connection.getresponse().status
    finally:
        connection.close()
