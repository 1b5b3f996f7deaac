"""Fresh servers for the tests and benchmarks: one local server container, or a cluster of them
on a Docker network of their own, each deployed to with the real `pyinfra inventory.py deploy.py`."""

import concurrent.futures
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time

import docker.errors

from core.settings import environment
from testbed import local_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYINFRA = os.path.join(os.path.dirname(sys.executable), "pyinfra")
APP_DIR = "/srv/microblog"  # where the default settings put the app
PROGRAM = "/usr/local/sbin/microblog-release"
GUNICORN_PORTS = {"blue": 8000, "green": 8001}  # the default settings'


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A fresh local server container with its own ports, SSH key and known_hosts."""

    def __init__(self, state_dir, repo, network=None, web=True):
        self.state_dir = state_dir
        self.repo = repo
        for attempt in range(3):  # a free port may be taken by another container before Docker binds it
            self.name = f"flask-deploy-test-{secrets.token_hex(3)}"
            self.ssh_port = free_port()
            self.http_port, self.https_port = (free_port(), free_port()) if web else (None, None)
            try:
                self.container = local_server.start(
                    self.name,
                    self.ssh_port,
                    self.http_port,
                    self.https_port,
                    state_dir=state_dir,
                    network=network,
                    publish_web=web,
                )
                break
            except docker.errors.APIError as error:
                local_server.stop(self.name)
                if "port is already allocated" not in str(error) or attempt == 2:
                    raise

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https_url(self):
        return f"https://127.0.0.1:{self.https_port}"

    def sh(self, command, check=True, user=None):
        """Runs a shell command in the server (as root, or `user`); returns its output (stdout and stderr)."""
        code, output = self.container.exec_run(["sh", "-c", command], user=user or "")
        output = output.decode(errors="replace").strip()
        if check and code != 0:
            raise AssertionError(f"{command!r} exited {code} in {self.name}: {output}")
        return output

    @contextlib.contextmanager
    def command_lines(self):
        """Every command line on the server sampled (`ps`, 20 times a second) while the block
        runs: yields a list, filled with the samples' text afterwards."""
        sampler = "while :; do ps -eo args >> /root/ps-samples; sleep 0.05; done"
        samples = []
        self.sh(f"rm -f /root/ps-samples; systemd-run --unit ps-sampler sh -c '{sampler}'")
        try:
            yield samples
        finally:
            self.sh("systemctl stop ps-sampler")
            samples.append(self.sh("cat /root/ps-samples"))

    def release_status(self):
        """The release program's status (what serves, what served before, the releases kept)."""
        return json.loads(self.sh(f"{PROGRAM} status --json"))

    def live_program(self):
        """The supervisor program of the gunicorn that serves (microblog-blue or -green)."""
        return f"microblog-{self.release_status()['live']}"

    def serving(self):
        """(the release root's record says serves, where `current` points)."""
        return self.release_status()["serving"], self.sh(f"readlink {APP_DIR}/current")

    def live_port(self):
        """The port of the gunicorn that serves (the default bind's for blue, the next for green)."""
        return GUNICORN_PORTS[self.release_status()["live"]]

    def page(self, path="/"):
        """The body of a page of the site, over HTTPS."""
        from testbed.client import http_get

        return http_get(self.https_url + path)[2]

    def address(self, network="bridge"):
        self.container.reload()
        return self.container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]

    def deploy(self, *args, env=None, deploy_file="deploy.py"):
        """Runs `pyinfra -y [args] inventory.py deploy.py` against this server (no -y with --dry)."""
        command, environment_ = self.deploy_command(*args, env=env, deploy_file=deploy_file)
        start = time.time()
        result = subprocess.run(command, cwd=ROOT, env=environment_, capture_output=True, text=True, timeout=1200)
        result.seconds = time.time() - start
        result.output = result.stdout + result.stderr
        if "--json" in args and result.stdout.strip().startswith("{"):
            result.json = json.loads(result.stdout)
        return result

    def make(self, target, env=None, **variables):
        """`make TARGET VARIABLE=value...` (a day-two target) against this server, as an operator
        runs it; its result has .output (stdout and stderr)."""
        _, environment_ = self.deploy_command(env=env)
        command = ["make", "-s", "--no-print-directory", target, *(f"{key}={text}" for key, text in variables.items())]
        result = subprocess.run(command, cwd=ROOT, env=environment_, capture_output=True, text=True, timeout=600)
        result.output = result.stdout + result.stderr
        return result

    def deploy_command(self, *args, env=None, deploy_file="deploy.py"):
        """(command, environment) of a deploy to this server, to run from the repository's root:
        the server handed over as `make deploy` hands the local server, unless `env` names hosts."""
        variables = dict(os.environ, **{environment.APP_REPO: self.repo})
        for variable in (*environment.HOST_VARIABLES, environment.SECRET_KEY, environment.DB_PASSWORD):
            variables.pop(variable, None)
        variables.update(env or {})
        if not any(variables.get(name) for name in environment.HOST_VARIABLES):
            variables.update(
                local_server.handover(
                    os.path.join(self.state_dir, self.name),
                    key_dir=self.state_dir,
                    ssh_port=self.ssh_port,
                    https_port=self.https_port,
                    repo=self.repo,
                    settings=json.loads(variables.get(local_server.SETTINGS_VARIABLE) or "{}"),
                    given=variables.get(environment.SETTINGS_FILE),
                )
            )
        confirm = [] if "--dry" in args else ["-y"]  # -y would skip --dry's change detection
        return [PYINFRA, *confirm, *args, "inventory.py", deploy_file], variables

    def remove(self):
        local_server.stop(self.name)


def changed_operations(result):
    """The names of the operations a --json deploy changed (or failed)."""
    return [op["name"] for op in result.json["results"]["operations"] if op["success"] or op["error"]]


class Cluster:
    """Fresh servers on a Docker network of their own: one web host (its HTTP(S) ports published on
    127.0.0.1), `apps` app hosts and one db host, deployed to as one layout."""

    def __init__(self, state_dir, repo, apps=2):
        local_server.ensure_key(state_dir)  # once, before the servers start side by side
        self.network = local_server.client().networks.create(f"flask-deploy-test-{secrets.token_hex(3)}")
        self.roles = ["web", *(f"app{number}" for number in range(1, apps + 1)), "db"]
        with concurrent.futures.ThreadPoolExecutor() as pool:
            servers = pool.map(
                lambda role: Server(state_dir, repo, network=self.network.name, web=role == "web"), self.roles
            )
            self.servers = dict(zip(self.roles, servers, strict=True))
        self.web = self.servers["web"]
        self.apps = [self.servers[role] for role in self.roles if role.startswith("app")]
        self.db = self.servers["db"]

    def address(self, server):
        """The server's address on the cluster's network."""
        return server.address(self.network.name)

    def entry(self, server):
        return f"127.0.0.1:{server.ssh_port}={self.address(server)}"

    @property
    def url(self):
        return f"https://127.0.0.1:{self.web.https_port}"

    def environment(self):
        """The hosts by role, as a user would list them."""
        return {
            environment.ROLE_HOSTS["web"]: self.entry(self.web),
            environment.ROLE_HOSTS["app"]: ",".join(self.entry(app) for app in self.apps),
            environment.ROLE_HOSTS["db"]: self.entry(self.db),
            environment.SSH_KEY: os.path.join(self.web.state_dir, "id_ed25519"),
            environment.SSH_KNOWN_HOSTS: os.path.join(self.web.state_dir, "known_hosts_cluster"),
        }

    def make(self, target, **variables):
        """A day-two make target over the cluster's hosts."""
        return self.web.make(target, env=self.environment(), **variables)

    def deploy(self, *args, deploy_file="deploy.py"):
        """pyinfra inventory.py deploy.py with the hosts given by role."""
        settings = (
            "--data",
            f"repo={self.web.repo}",
            "--data",
            "tls=self-signed",
            "--data",
            "server_names=localhost,127.0.0.1",
            "--data",
            f"public_https_port={self.web.https_port}",
            "--data",
            "expose_upstream_addr=True",
        )
        return self.web.deploy(*settings, *args, env=self.environment(), deploy_file=deploy_file)

    def remove(self):
        for server in self.servers.values():
            server.remove()
        self.network.remove()
