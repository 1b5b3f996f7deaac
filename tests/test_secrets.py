"""Secrets never show: not in the deploy's output at any verbosity (-v, -vv, -vvv, --debug), not in
a command line on the server (`ps`, sampled all along), not in the sudo log of a sudo SSH user."""

import os
import secrets
import shlex
from urllib.parse import quote

import pytest

from core.settings import environment
from testbed.client import http_get
from testbed.servers import APP_DIR

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployed(server):
    result = server.deploy()
    assert result.returncode == 0, result.output[-5000:]


@pytest.fixture(scope="module")
def sudo_user(server, deployed):
    server.sh(
        "id deployer >/dev/null 2>&1 || useradd -m -s /bin/bash deployer; "
        "echo 'deployer ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deployer; "
        "install -d -o deployer -m 0700 /home/deployer/.ssh; "
        "install -o deployer -m 0600 /root/.ssh/authorized_keys /home/deployer/.ssh/authorized_keys"
    )
    return {
        environment.HOSTS: "127.0.0.1",
        environment.SSH_PORT: str(server.ssh_port),
        environment.SSH_USER: "deployer",
        environment.SSH_KEY: os.path.join(server.state_dir, "id_ed25519"),
        environment.SSH_KNOWN_HOSTS: os.path.join(server.state_dir, "known_hosts_sudo"),
    }


def deploy_new_secrets(server, *args, env=None):
    """A deploy that changes both secrets (every file and the MariaDB password written again),
    while `ps` is sampled on the server; returns (result, secrets, samples)."""
    secret_key = secrets.token_urlsafe(30) + "!#%&()*+,-./:;<=>?@[]^_{|}~"  # every character a .env keeps
    password = secrets.token_urlsafe(20) + "%!#"
    with server.command_lines() as samples:
        result = server.deploy(
            *args, env={environment.SECRET_KEY: secret_key, environment.DB_PASSWORD: password, **(env or {})}
        )
    assert result.returncode == 0, result.output[-3000:]
    assert http_get(server.https_url + "/")[0] == 200  # the app reaches MariaDB with the new password
    seen = server.sh(
        f"cd {APP_DIR}/current && venv/bin/python3 -c 'import dotenv; "
        'print(dotenv.dotenv_values(".env")["SECRET_KEY"])\'',
        user="deploy",
    )
    assert seen == secret_key  # as the app reads it
    return result, (secret_key, password, quote(password, safe="")), samples[0]


@pytest.mark.parametrize("verbosity", ["-v", "-vv", "-vvv", "--debug"])
def test_secrets_are_not_printed_at_any_verbosity_nor_in_command_lines(server, deployed, verbosity):
    result, values, samples = deploy_new_secrets(server, verbosity)
    assert len(samples.splitlines()) > 100  # ps ran all along
    for value in values:
        assert value not in result.output, verbosity
        assert value not in samples, verbosity
    assert server.sh(f"grep -F -c -e {shlex.quote(values[0])} /etc/microblog/secrets.env") == "1"  # it was written


def test_secrets_are_not_in_the_sudo_log_of_a_sudo_ssh_user(server, sudo_user):
    since = server.sh("date '+%Y-%m-%d %H:%M:%S'")
    settings = (
        "--data",
        f"repo={server.repo}",
        "--data",
        "tls=self-signed",
        "--data",
        "server_names=localhost,127.0.0.1",
        "--data",
        f"public_https_port={server.https_port}",
    )
    result, values, samples = deploy_new_secrets(server, "-vvv", *settings, env=sudo_user)
    log = server.sh(f"journalctl --no-pager --since '{since}'")
    assert "sudo" in log and "COMMAND=" in log and "deployer" in log  # sudo logged the deploy's commands
    for value in values:
        assert value not in log and value not in result.output and value not in samples
