"""The whole stack deployed to one fresh Debian 12 server (13 with DEBIAN=trixie) over SSH,
checked with real requests and real commands in the server."""

import os
import re
import shlex
import subprocess

import pytest

from testbed import repos
from testbed.client import http_get, wait_for_http
from testbed.servers import APP_DIR, changed_operations

pytestmark = pytest.mark.e2e


def app_env(server):
    return dict(
        line.split("=", 1)
        for line in server.sh(f"cat {APP_DIR}/current/.env").splitlines()
        if "=" in line and not line.startswith("#")
    )


@pytest.fixture(scope="module")
def first_deploy(server):
    result = server.deploy("-v", "--diff")  # verbose, with diffs: still no secret in the output
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    result.env = app_env(server)
    return result


@pytest.fixture(scope="module")
def second_deploy(server, first_deploy):
    return server.deploy("--json")


def test_first_deploy_checks_out_the_latest_tag_not_the_untagged_commit(server, first_deploy):
    assert server.sh(f"readlink {APP_DIR}/current") == "releases/v1.1.0"
    commit = server.release_status()["release"]["commit"]
    assert commit == local_commit(server, "v1.1.0") != local_commit(server, "HEAD")
    assert server.sh(f"cat {APP_DIR}/current/VERSION") == "v1.1.0"
    assert "release v1.1.0, the first" in first_deploy.stdout + first_deploy.stderr


def test_the_release_is_built_in_the_background_while_the_server_is_set_up(server, first_deploy):
    assert "Build v1.1.0 in the background" in first_deploy.stdout + first_deploy.stderr
    assert server.release_status()["releases"]["v1.1.0"]["build_seconds"] > 1  # its venv and pip install
    assert "microblog-release prebuild" in server.sh("journalctl -q --no-pager -o cat")  # a unit of its own
    # the release step waited for it and built nothing again
    assert server.sh("grep -c 'installing requirements.txt into venvs' /var/lib/microblog/release.log") == "1"


def test_page_through_nginx_and_gunicorn_and_static_served_by_nginx(server, first_deploy):
    status, headers, body = http_get(server.url + "/")
    assert status == 200 and "Microblog v1.1.0" in body
    assert headers["Server"] == "nginx"

    status, headers, body = http_get(server.url + "/static/style.css")
    assert status == 200 and "font-family" in body
    assert "max-age=2592000" in headers["Cache-Control"] and headers["Expires"]

    program = server.live_program()
    server.sh(f"supervisorctl stop {program}")
    try:
        assert http_get(server.url + "/")[0] == 502  # gunicorn is down...
        status, headers, _ = http_get(server.url + "/static/style.css")
        assert status == 200 and "max-age=2592000" in headers["Cache-Control"]  # ...nginx still serves
    finally:
        server.sh(f"supervisorctl start {program}")
    wait_for_http(server.url + "/", timeout=15)


def test_mariadb_holds_the_schema_and_the_app_user_sees_its_database_only(server, first_deploy):
    assert set(server.sh("mysql -N -e 'SHOW TABLES' microblog").split()) == {"alembic_version", "post"}
    assert server.sh("mysql -N -e 'SELECT version_num FROM alembic_version' microblog") == "0001"  # the head
    assert "utf8mb3_bin" in server.sh(
        "mysql -N -e \"SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='microblog'\""
    )

    password = re.search(r"microblog:([^@]+)@", first_deploy.env["DATABASE_URL"]).group(1)
    as_app = f"mysql -N -h 127.0.0.1 -u microblog -p{password}"
    assert set(server.sh(f"{as_app} -e 'SHOW DATABASES'").split()) == {"information_schema", "microblog"}
    assert "denied" in server.sh(f"{as_app} -e 'SELECT * FROM mysql.user'", check=False)

    assert server.sh("mysql -N -e \"SELECT COUNT(*) FROM mysql.user WHERE User=''\"") == "0"  # no anonymous users
    assert "test" not in server.sh("mysql -N -e 'SHOW DATABASES'").split()
    assert "denied" in server.sh("mysql -N -h 127.0.0.1 -u root -e 'SELECT 1'", check=False)  # root: unix socket only


def test_mariadb_and_gunicorn_listen_on_loopback_only_and_gunicorn_runs_as_the_app_user(server, first_deploy):
    listening = server.sh("ss -Hltn").split("\n")
    local_addresses = [line.split()[3] for line in listening]
    live_port = "8000" if server.live_program().endswith("blue") else "8001"  # the idle color listens nowhere
    for port in ("3306", live_port):
        on_port = [address for address in local_addresses if address.rsplit(":", 1)[1] == port]
        assert on_port == ["127.0.0.1:" + port], on_port
    assert not [address for address in local_addresses if address.rsplit(":", 1)[1] in {"8000", "8001"} - {live_port}]

    processes = [
        line.split(None, 1)
        for line in server.sh("ps -eo user:20,args").splitlines()
        if "gunicorn" in line and "microblog:app" in line
    ]
    assert {user for user, _ in processes} == {"deploy"}
    cores = int(server.sh("nproc"))
    assert len(processes) == 1 + 2 * cores  # the master and 2 workers per core (default of `workers`)


def test_the_server_is_locked_down(server, first_deploy):
    listening = [line.split()[3] for line in server.sh("ss -Hltn").splitlines()]
    public_ports = {
        address.rsplit(":", 1)[1] for address in listening if not address.startswith(("127.0.0.1:", "[::1]:"))
    }
    assert public_ports == {"22", "80", "443"}, listening
    firewall = server.sh("ufw status verbose")
    assert "Status: active" in firewall and "Default: deny (incoming)" in firewall
    for rule in ("22/tcp (OpenSSH)", "80/tcp", "443/tcp"):
        assert re.search(rf"^{re.escape(rule)}\s+ALLOW IN\s+Anywhere\s*$", firewall, re.M), rule

    assert server.sh("id -u deploy") != "0"
    assert "not allowed to run sudo" in server.sh("sudo -l -U deploy", check=False)
    assert (
        server.sh(
            f"find {APP_DIR} /var/log/microblog /etc/nginx /etc/supervisor /var/backups/microblog "
            "/var/lib/microblog /etc/microblog -perm -o+w ! -type l"
        )
        == ""
    )
    assert server.sh("stat -c '%a %U' /var/log/microblog") == "750 deploy"
    for path in ("/var/backups/microblog", "/var/lib/microblog"):
        assert server.sh(f"stat -c '%a %U' {path}") == "700 root", path
    for path in ("/etc/microblog/secrets.env", "/etc/microblog/mysql-client.cnf", "/var/lib/microblog/state.json"):
        assert server.sh(f"stat -c '%a %U' {path}") == "600 root", path
    server.sh("logrotate -d /etc/logrotate.d/microblog")  # a valid rotation of the gunicorn logs

    status, headers, _ = http_get(server.url + "/")
    assert status == 200 and headers["Server"] == "nginx"  # no version
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    for path in ("/.env", "/.git/config", "/static/.env", "/static/../.env", "/static/.gitignore"):
        assert http_get(server.url + path)[0] == 404, path
    too_big = server.sh(
        "head -c 11000000 /dev/zero | curl -sk -o /dev/null -w '%{http_code}' --data-binary @- "
        "--resolve localhost:443:127.0.0.1 https://localhost/"
    )
    assert too_big == "413"  # client_max_body_size, 10m by default


def test_a_site_that_nginx_rejects_never_replaces_the_serving_one(server, first_deploy):
    site = "/etc/nginx/sites-available/microblog"
    before = server.sh(f"sha1sum {site}")
    result = server.deploy("--data", "nginx_extra_directives=no_such_directive on;")
    assert result.returncode != 0
    assert 'unknown directive "no_such_directive"' in result.stdout + result.stderr  # nginx's own words
    assert "the previous one stays in place" in result.stdout + result.stderr
    assert server.sh(f"sha1sum {site}") == before and server.sh("readlink /etc/nginx/sites-enabled/microblog") == site
    assert http_get(server.url + "/")[0] == 200


def test_supervisor_brings_the_site_back_after_kill_9_of_the_gunicorn_master(server, first_deploy):
    program = server.live_program()
    master = server.sh(f"supervisorctl pid {program}")
    server.sh(f"kill -9 {master}")
    seconds = wait_for_http(server.url + "/", timeout=10)
    assert server.sh(f"supervisorctl pid {program}") != master
    print(f"site back {seconds:.1f}s after kill -9 of the master")


def test_site_comes_back_after_a_reboot(server, first_deploy):
    server.container.restart()
    seconds = wait_for_http(server.url + "/", timeout=90)
    print(f"site back {seconds:.1f}s after docker restart")
    server.sh("timeout 60 systemctl is-system-running --wait || true")  # booted: the next deploy sees it settled


def test_second_deploy_changes_nothing(server, second_deploy):
    assert second_deploy.returncode == 0, second_deploy.stderr[-3000:]
    operations = second_deploy.json["results"]["operations"]
    why = re.findall(r"every task runs: .*", second_deploy.stderr)
    assert operations and not changed_operations(second_deploy), why
    assert "nothing changed since the last deploy" in second_deploy.stderr, why
    print(f"second deploy: {len(operations)} operations, none changed, {second_deploy.seconds:.1f}s")


def test_secrets_are_kept_private_and_never_printed(server, first_deploy, second_deploy):
    assert app_env(server) == first_deploy.env
    assert server.sh(f"stat -c '%a %U %G' {APP_DIR}/shared/.env") == "600 deploy deploy"
    secret_key = first_deploy.env["SECRET_KEY"].strip('"')
    password = re.search(r"microblog:([^@]+)@", first_deploy.env["DATABASE_URL"]).group(1)
    assert len(secret_key) >= 32 and len(password) >= 16
    for output in (first_deploy.stdout, first_deploy.stderr, second_deploy.stdout, second_deploy.stderr):
        assert secret_key not in output and password not in output
    # nor in any log on the server (the journal and the release program's log included)
    assert (
        server.sh(
            f"grep -rlF -e {shlex.quote(secret_key)} -e {shlex.quote(password)} /var/log /var/lib/microblog "
            "/var/backups || true"
        )
        == ""
    )


def test_dry_run_on_a_fresh_server_changes_nothing(make_server):
    fresh = make_server()
    before = fresh.sh("ls -R /etc /home /var/lib/dpkg/info | md5sum")
    result = fresh.deploy("--dry")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Install the packages of the host's roles" in result.stdout + result.stderr
    assert fresh.sh("ls -R /etc /home /var/lib/dpkg/info | md5sum") == before
    assert fresh.sh("id deploy", check=False).startswith("id:")
    assert fresh.sh("dpkg -s nginx", check=False).count("not installed")


def test_a_first_release_that_fails_to_install_says_why_and_the_next_deploy_serves(make_server, tmp_path):
    repo = repos.build(str(tmp_path / "sample-app"))
    with open(os.path.join(repo.path, "requirements.txt")) as handle:
        requirements = handle.read()
    repo.release("v1.2.0", files=[("requirements.txt", requirements + "no-such-package-for-this-test==0.0.1\n")])
    fresh = make_server(repo.path)
    result = fresh.deploy()  # the build in the background fails: the release step builds again, and says why
    assert result.returncode != 0
    assert "building release v1.2.0 failed" in result.output and "no release serves yet" in result.output
    assert "no-such-package-for-this-test" in result.output  # pip's own words
    repo.release("v1.2.1", files=[("requirements.txt", requirements)])
    result = fresh.deploy()
    assert result.returncode == 0, result.output[-3000:]
    assert http_get(fresh.https_url + "/")[2].count("Microblog v1.2.1")


def local_commit(server, ref):
    return subprocess.run(
        ["git", "-C", server.repo, "rev-parse", f"{ref}^{{commit}}"], capture_output=True, text=True, check=True
    ).stdout.strip()
