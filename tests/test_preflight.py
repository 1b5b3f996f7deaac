"""The real command line with bad settings or a bad layout: every problem named, before pyinfra
connects to any server (the hosts below do not even exist)."""

import os
import subprocess

from core import environment
from testbed.servers import PYINFRA, ROOT


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
        "`bind` = '8000' must be host:port",
        "`db_name` = 'mysql' is taken",
        "`static_path` = '../../..' must stay inside the release",
        "`server_names` holds 'bad_name!'",
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
