"""gunicorn under supervisor, and the one health check: what a switch, a rollback and a
settings change all use."""

import http.client
import os
import signal
import socket
import ssl
import time
from urllib.parse import urlsplit

from .run import Failed


class Service:
    def __init__(self, runner, config):
        self.runner, self.config, self.program = runner, config, config.app_name

    def supervisorctl(self, *args, check=False):
        result = self.runner.run(
            ["supervisorctl", *args], what=f"supervisorctl {' '.join(args)}", timeout=120, capture=True, check=check
        )
        return result.out.decode(errors="replace")

    def reload(self):
        """Gracefully: a HUP makes gunicorn start new workers on what `current` points at while
        the old ones finish their requests. A changed program (workers, address) or one that does
        not run is (re)started instead."""
        changed = f"{self.program}: changed" in self.supervisorctl("reread")
        answer = self.supervisorctl("pid", self.program).strip()
        pid = int(answer) if answer.isdigit() else 0  # 0: supervisor runs no such process
        if changed or pid <= 0 or not _alive(pid):
            self.supervisorctl("update", self.program)
            self.supervisorctl("start", self.program)
            return
        old_workers = _children(pid)
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while any(_alive(worker) for worker in old_workers) and time.monotonic() < deadline:
            time.sleep(0.2)

    def health(self, seconds=None, url=None):
        """(healthy, what answered) of `url` (default health_url) within `seconds` (default
        health_seconds)."""
        seconds = self.config.health_seconds if seconds is None else seconds
        url = url or self.config.health_url
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
            time.sleep(0.5)

    def require_health(self, what):
        healthy, detail = self.health()
        if not healthy:
            raise Failed(f"{what}: the health check fails ({detail}); see the app's error log.")


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


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _children(pid):
    children = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as handle:
                if int(handle.read().rsplit(")", 1)[1].split()[1]) == pid:
                    children.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return children
