"""The real command line with bad settings or a bad layout: every problem named, before pyinfra
connects to any server (the hosts below do not even exist); then SSH problems and a system
account as app_user, a system other than Debian 12 or 13 on a real server, which stays as it was."""

import os
import subprocess

import pytest

from core.settings import environment
from testbed.servers import PYINFRA, ROOT, free_port


def pyinfra(tmp_path, env, *args):
    variables = {**os.environ, environment.SSH_KNOWN_HOSTS: str(tmp_path / "known_hosts"), **env}
    for name in environment.HOST_VARIABLES:
        if name not in env:
            variables.pop(name, None)
    result = subprocess.run(
        [PYINFRA, "-y", *args, "inventory.py", "deploy.py"],
        cwd=ROOT,
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def test_a_layout_with_two_db_hosts_or_no_private_addresses_stops_before_any_connection(tmp_path):
    code, output = pyinfra(
        tmp_path,
        {
            environment.ROLE_HOSTS["web"]: "web.example.org",
            environment.ROLE_HOSTS["app"]: "app1.example.org=10.0.0.11",
            environment.ROLE_HOSTS["db"]: "db1.example.org=10.0.0.21,db2.example.org=10.0.0.22",
        },
    )
    assert code != 0 and "The servers need fixing before anything changes" in output
    assert "2 database hosts (db1.example.org, db2.example.org): name exactly one in DEPLOY_DB_HOST" in output
    assert "web.example.org needs the IP address the other hosts reach it at" in output
    assert "Connected" not in output


def test_bad_settings_given_with_data_stop_before_any_connection_all_named(tmp_path):
    code, output = pyinfra(
        tmp_path,
        {environment.HOSTS: "192.0.2.1"},
        "--data",
        "workers=0",
        "--data",
        "bind=8000",
        "--data",
        "tls=self-signed",
        "--data",
        "db_name=mysql",
        "--data",
        "static_path=../../..",
        "--data",
        "server_names=blog.example.org,bad_name!",
    )
    assert code != 0 and "Settings of 192.0.2.1 need fixing before anything changes" in output
    for expected in (
        "`workers` = 0 must be a positive whole number",
        "`bind` = 8000 must be host:port",
        "`db_name` = 'mysql' is taken",
        "`static_path` = '../../..' must stay inside the release",
        "holds 'bad_name!', not host names",
    ):
        assert expected in output, expected
    assert "Connected" not in output


def test_a_secret_a_dotenv_file_cannot_keep_stops_before_any_connection(tmp_path):
    code, output = pyinfra(
        tmp_path,
        {environment.HOSTS: "192.0.2.1", environment.SECRET_KEY: 'has"a$quote-and-more'},
        "--data",
        "tls=self-signed",
    )
    assert code != 0 and "SECRET_KEY holds a character" in output and "no spaces" in output
    assert 'has"a$quote' not in output and "Connected" not in output


@pytest.mark.e2e
def test_ssh_problems_and_system_accounts_end_with_a_clear_message_and_change_nothing(make_server, tmp_path):
    server = make_server()
    wrong_key = tmp_path / "wrong_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong_key)], check=True)
    server.sh(
        "useradd -m nosudo && install -d -o nosudo -m 0700 /home/nosudo/.ssh && "
        "install -o nosudo -m 0600 /root/.ssh/authorized_keys /home/nosudo/.ssh/authorized_keys && useradd -r svcacct"
    )
    real_server = {
        environment.HOSTS: "127.0.0.1",
        environment.SSH_PORT: str(server.ssh_port),
        environment.SSH_KNOWN_HOSTS: str(tmp_path / "known_hosts"),
        environment.SSH_KEY: os.path.join(server.state_dir, "id_ed25519"),
    }
    snapshot = "ls -lR /etc /home /var/lib/dpkg/info | md5sum"
    before = server.sh(snapshot)
    cases = {
        "unreachable": ({environment.SSH_PORT: str(free_port())}, (), "Check the address (DEPLOY_HOSTS), the SSH port"),
        "wrong key": (
            {environment.SSH_KEY: str(wrong_key)},
            (),
            f"refuses the SSH key {wrong_key} for the user root. Check DEPLOY_SSH_KEY and DEPLOY_SSH_USER",
        ),
        "no sudo": ({environment.SSH_USER: "nosudo"}, (), "nosudo on 127.0.0.1 cannot use sudo without a password"),
        "system account": ({}, ("--data", "app_user=svcacct"), "`app_user` = 'svcacct' is an account of the system"),
    }
    for case, (overrides, data, message) in cases.items():
        result = server.deploy(
            "--data", f"repo={server.repo}", "--data", "tls=self-signed", *data, env={**real_server, **overrides}
        )
        assert result.returncode != 0, case
        assert message in result.output, (case, result.output[-2000:])
    # a system other than Debian 12 or 13 (here a Debian 11 it seems to be)
    server.sh(
        "cp /usr/lib/os-release /root/os-release && sed -i -e 's/^VERSION_ID=.*/VERSION_ID=\"11\"/' "
        "-e 's/^PRETTY_NAME=.*/PRETTY_NAME=\"Debian GNU\\/Linux 11 (bullseye)\"/' /usr/lib/os-release"
    )
    result = server.deploy("--data", f"repo={server.repo}", "--data", "tls=self-signed", env=real_server)
    server.sh("cp /root/os-release /usr/lib/os-release")
    assert result.returncode != 0
    assert (
        "127.0.0.1 runs Debian GNU/Linux 11 (bullseye): this deploy supports Debian 12 (bookworm) and "
        "Debian 13 (trixie) only. Nothing was changed."
    ) in result.output, result.output[-2000:]
    assert server.sh(snapshot) == before
