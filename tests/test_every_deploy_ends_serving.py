"""Every deploy ends with the site serving, or fails naming what does not: what is down is
started again, a lost .env gets its secrets back; and the site answers only its own names, with
forwarding headers nginx sets alone."""

import json

import pytest

from testbed.client import http_get
from testbed.servers import APP_DIR

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployed(server):
    result = server.deploy()
    assert result.returncode == 0, result.output[-5000:]
    return result


def env_of(server):
    return server.sh(f"cat {APP_DIR}/shared/.env")


def test_unknown_host_names_are_refused_on_80_and_443(server, deployed):
    for url in (server.url + "/", server.https_url + "/"):
        with pytest.raises(OSError):  # nginx closes the connection (444) or refuses the TLS handshake
            http_get(url, host="evil.example")
    assert http_get(server.https_url + "/", host="localhost")[0] == 200
    assert http_get(server.https_url + "/")[0] == 200  # the local server's 127.0.0.1


def test_forwarding_headers_are_the_ones_nginx_sets(server, deployed):
    status, _, body = http_get(
        server.https_url + "/debug/request",
        headers={
            "X-Forwarded-For": "6.6.6.6",
            "X-Forwarded-Ssl": "on",
            "X-Forwarded-Protocol": "ssl",
            "X-Forwarded-Proto": "http",
            "X-Forwarded-Host": "evil.example",
        },
    )
    seen = json.loads(body)
    gateway = server.sh("ip route | awk '/^default/ { print $3 }'")  # the client address nginx sees
    assert status == 200 and seen["forwarded_for"] == gateway and "6.6.6.6" not in body
    assert seen["forwarded_ssl"] is None and seen["forwarded_protocol"] is None
    assert seen["scheme"] == "https" and seen["host"] == f"127.0.0.1:{server.https_port}"
    assert seen["remote_addr"] == "127.0.0.1"  # gunicorn trusts the forwarding headers of nginx alone


def test_gunicorn_and_nginx_stopped_are_started_again_by_the_next_deploy(server, deployed):
    server.sh(f"supervisorctl stop {server.live_program()} && systemctl stop nginx")
    result = server.deploy()
    assert result.returncode == 0, result.output[-3000:]
    # the release program does not wait out supervisor's startsecs: STARTING, then RUNNING
    state = f"supervisorctl status {server.live_program()} | awk '{{print $2}}'"
    assert server.sh(f"for i in $(seq 50); do [ $({state}) = RUNNING ] && exit; sleep 0.1; done; {state}") == ""
    assert server.sh("systemctl is-active nginx") == "active" and http_get(server.https_url + "/")[0] == 200
    # the live color's link gone (a damaged server: the links are root's): supervisor cannot start it again
    live = server.live_program()
    server.sh(f"rm {APP_DIR}/slots/{live.split('-')[1]} {APP_DIR}/current")
    server.sh(f"supervisorctl restart {live} || true")
    assert server.sh(f"supervisorctl status {live}", check=False).split()[1] in ("STOPPED", "FATAL", "BACKOFF")
    result = server.deploy()
    assert result.returncode == 0, result.output[-3000:]
    assert server.sh(f"readlink {APP_DIR}/current") == "releases/v1.1.0" and http_get(server.https_url + "/")[0] == 200


def test_a_lost_env_file_gets_the_same_secrets_back(server, deployed):
    env = env_of(server)
    server.sh(f"rm {APP_DIR}/shared/.env")
    result = server.deploy()
    assert result.returncode == 0, result.output[-3000:]
    assert env_of(server) == env and http_get(server.https_url + "/")[0] == 200


def test_lost_secrets_are_made_anew_and_given_to_mariadb_too(server, deployed):
    env = env_of(server)
    server.sh(f"rm {APP_DIR}/shared/.env /etc/microblog/secrets.env")
    result = server.deploy()
    assert result.returncode == 0, result.output[-3000:]
    assert env_of(server) != env and http_get(server.https_url + "/")[0] == 200  # the app reaches MariaDB


def test_a_site_that_fails_its_health_check_fails_the_deploy_naming_it(server, deployed):
    result = server.deploy(
        "--data",
        "health_check_path=/no/such/page",
        "--data",
        "health_check_max_status=299",
        "--data",
        "health_check_seconds=2",
    )
    assert result.returncode != 0
    assert (
        "local-server: the site through nginx (https://127.0.0.1) does not serve: "
        "https://127.0.0.1/no/such/page (Host localhost): HTTP 404 for 2 s"
    ) in result.output
    assert server.deploy().returncode == 0
