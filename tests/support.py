"""Helpers shared by the end-to-end tests and the benchmarks: fresh servers and HTTP."""

import json
import os
import secrets
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYINFRA = os.path.join(os.path.dirname(sys.executable), "pyinfra")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]




class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_get(url, timeout=10, follow_redirects=True, host=None):
    """(status, headers, body) of a GET; never through a proxy: tests talk to 127.0.0.1 only."""
    unverified = ssl.create_default_context()  # our own servers, often with a self-signed certificate
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    handlers = [urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=unverified)]
    handlers += [] if follow_redirects else [NoRedirect()]
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode(errors="replace")


def wait_for_http(url, timeout, expect=200):
    """Seconds until url answers `expect`; fails after timeout."""
    start = time.time()
    while time.time() - start < timeout:
        try:
            if http_get(url, timeout=2)[0] == expect:
                return time.time() - start
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer {expect} within {timeout}s")


class Server:
    """A fresh local server container with its own ports, SSH key and known_hosts."""

    def __init__(self, state_dir, repo, network=None, web=True):
        from tools import local_server

        self.local_server = local_server
        self.name = f"flask-deploy-test-{secrets.token_hex(3)}"
        self.state_dir = state_dir
        self.repo = repo
        self.ssh_port = free_port()
        self.http_port, self.https_port = (free_port(), free_port()) if web else (None, None)
        self.container = local_server.start(self.name, self.ssh_port, self.http_port, self.https_port,
                                            state_dir=state_dir, network=network)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def sh(self, command, check=True):
        """Runs a shell command in the server as root; returns its output (stdout and stderr)."""
        code, output = self.container.exec_run(["sh", "-c", command])
        output = output.decode(errors="replace").strip()
        if check and code != 0:
            raise AssertionError(f"{command!r} exited {code} in {self.name}: {output}")
        return output

    def deploy(self, *args, env=None, deploy_file="deploy.py"):
        """Runs `pyinfra -y [args] inventory.py deploy.py` against this server (no -y with --dry)."""
        command, environment = self.deploy_command(*args, env=env, deploy_file=deploy_file)
        start = time.time()
        result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=1200)
        result.seconds = time.time() - start
        if "--json" in args and result.stdout.strip().startswith("{"):
            result.json = json.loads(result.stdout)
        return result

    def deploy_command(self, *args, env=None, deploy_file="deploy.py"):
        """(command, environment) of a deploy to this server, to run from the repository's root."""
        environment = dict(os.environ, LOCAL_SERVER_SSH_PORT=str(self.ssh_port),
                           LOCAL_SERVER_HTTPS_PORT=str(self.https_port),
                           LOCAL_SERVER_STATE_DIR=self.state_dir, APP_REPO=self.repo)
        for variable in ("DEPLOY_HOSTS", "DEPLOY_WEB_HOSTS", "DEPLOY_APP_HOSTS", "DEPLOY_DB_HOST", "SECRET_KEY",
                         "DB_PASSWORD"):
            environment.pop(variable, None)
        environment.update(env or {})
        confirm = [] if "--dry" in args else ["-y"]  # -y would skip --dry's change detection
        return [PYINFRA, *confirm, *args, "inventory.py", deploy_file], environment

    def remove(self):
        self.local_server.stop(self.name)


class Cluster:
    """Fresh servers on a Docker network of their own: one web host (its HTTP(S) ports published on
    127.0.0.1), `apps` app hosts and one db host, deployed to as one layout."""

    def __init__(self, state_dir, repo, apps=2):
        import concurrent.futures

        from tools import local_server

        local_server.ensure_key(state_dir)  # once, before the servers start side by side
        self.network = local_server.client().networks.create(f"flask-deploy-test-{secrets.token_hex(3)}")
        self.roles = ["web", *(f"app{number}" for number in range(1, apps + 1)), "db"]
        with concurrent.futures.ThreadPoolExecutor() as pool:
            servers = pool.map(lambda role: Server(state_dir, repo, network=self.network.name, web=role == "web"),
                               self.roles)
            self.servers = dict(zip(self.roles, servers))
        self.web = self.servers["web"]
        self.apps = [self.servers[role] for role in self.roles if role.startswith("app")]
        self.db = self.servers["db"]

    def address(self, server):
        """The server's address on the cluster's network."""
        server.container.reload()
        return server.container.attrs["NetworkSettings"]["Networks"][self.network.name]["IPAddress"]

    def entry(self, server):
        return f"127.0.0.1:{server.ssh_port}={self.address(server)}"

    @property
    def url(self):
        return f"https://127.0.0.1:{self.web.https_port}"

    def deploy(self, *args, deploy_file="deploy.py"):
        """pyinfra inventory.py deploy.py with the hosts given by role, as a user would list them."""
        env = {"DEPLOY_WEB_HOSTS": self.entry(self.web),
               "DEPLOY_APP_HOSTS": ",".join(self.entry(app) for app in self.apps),
               "DEPLOY_DB_HOST": self.entry(self.db),
               "DEPLOY_SSH_KEY": os.path.join(self.web.state_dir, "id_ed25519"),
               "DEPLOY_SSH_KNOWN_HOSTS": os.path.join(self.web.state_dir, "known_hosts_cluster")}
        settings = ("--data", f"repo={self.web.repo}", "--data", "tls=self-signed",
                    "--data", f"public_https_port={self.web.https_port}", "--data", "expose_upstream_addr=True")
        return self.web.deploy(*settings, *args, env=env, deploy_file=deploy_file)

    def remove(self):
        for server in self.servers.values():
            server.remove()
        self.network.remove()


class Load:
    """Requests at `rate` per second to an https://127.0.0.1:PORT/ url while the `with` block runs,
    from a pool of threads that each keep a connection to nginx alive (as browsers do), so that the
    load itself costs little CPU. Records every response that is not 200 and every refused or
    broken connection. Like browsers (RFC 9112, 9.3.1), a GET sent on a kept-alive connection that
    the server closed before answering (nginx closes idle ones when it reloads) is sent once more on
    a new connection: counted in `retried`, a failure only if that fails too."""

    def __init__(self, url, rate=25, timeout=30):
        import concurrent.futures
        import threading
        import urllib.parse

        parts = urllib.parse.urlsplit(url)
        self.port, self.path, self.rate, self.timeout = parts.port, parts.path or "/", rate, timeout
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=32)
        self.local = threading.local()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.failures, self.successes, self.sent, self.retried = [], [], 0, 0

    def _connection(self):
        import http.client

        if getattr(self.local, "connection", None) is None:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            self.local.connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=context,
                                                                timeout=self.timeout)
            self.local.reused = False
        return self.local.connection

    def _get(self):
        connection = self._connection()
        reused, self.local.reused = self.local.reused, True
        try:
            connection.request("GET", self.path)
            response = connection.getresponse()
            response.read()
            return response.status
        except Exception as error:
            self.local.connection = None
            closed_while_idle = isinstance(error, (ConnectionResetError, BrokenPipeError)) or \
                type(error).__name__ == "RemoteDisconnected"
            if reused and closed_while_idle:
                self.retried += 1
                return self._get()
            raise

    def _request(self):
        started = time.time()
        try:
            status = self._get()
        except Exception as error:  # refused, reset, timed out: all failures
            status = repr(error)
        if status == 200:
            self.successes.append(time.time())
        else:
            self.failures.append((round(started, 2), status))

    def _run(self):
        next_at = time.time()
        while not self.stop.is_set():
            self.pool.submit(self._request)
            self.sent += 1
            next_at += 1 / self.rate
            time.sleep(max(0, next_at - time.time()))

    def __enter__(self):
        self.started = time.time()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.pool.shutdown(wait=True)
        self.ended = time.time()
        return False

    def longest_gap(self):
        """Longest time without a successful response, in seconds."""
        moments = [self.started, *sorted(self.successes), self.ended]
        return max(later - earlier for earlier, later in zip(moments, moments[1:]))

    def summary(self):
        return (f"{self.sent} requests in {self.ended - self.started:.1f}s, {len(self.failures)} failed, "
                f"{self.retried} sent again on a new connection, "
                f"longest gap without a success {self.longest_gap():.2f}s")
