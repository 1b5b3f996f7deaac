"""Two apps on one server (issue 25): the sample app and testbed/hello_app, each with its own user,
database, ports, names and certificate, its settings in a file of its own (DEPLOY_SETTINGS); an
update, a rollback and a maintenance of one under load on both; one app's user against the other's
files and database; a third app that would take what one has; `make remove` of one."""

import os

import pytest

from testbed import repos
from testbed.client import Load, http_get
from testbed.servers import Server

pytestmark = pytest.mark.e2e

HELLO_NAME = repos.SECOND_APP["server_names"][0]


@pytest.fixture(scope="module")
def apps(engine, state_dir, tmp_path_factory):
    """One server: the sample app deployed as a newcomer does, then hello beside it, from its own
    settings file."""
    folder = str(tmp_path_factory.mktemp("apps"))
    microblog = repos.build(os.path.join(folder, "sample-app"))
    hello, server_env = repos.second_app(folder)
    server = Server(state_dir, microblog.path)
    server.hello_env, server.hello_repo, server.microblog_repo = server_env, hello, microblog
    first = server.deploy()
    assert first.returncode == 0, first.output[-5000:]
    with Load(server.https_url) as load:  # the first deploy of the second app, under load on the first
        second = server.deploy(env=server.hello_env)
    assert second.returncode == 0, second.output[-5000:]
    print("microblog during hello's first deploy:", load.summary())
    server.first_deploy_load = load
    yield server
    server.remove()


def page(server, host=None, path="/"):
    status, _, body = http_get(server.https_url + path, host=host)
    return status, body


def hello_page(server, path="/"):
    return page(server, f"{HELLO_NAME}:{server.https_port}", path)


def diagnose(server, *loads):
    if any(load.failures for load in loads):
        print(server.sh("tail -n 20 /var/log/nginx/error.log /var/lib/hello/release.log /var/log/microblog/error.log"))


def test_each_app_answers_its_own_names_over_https_on_its_own_ports(apps):
    assert apps.first_deploy_load.failures == [] and apps.first_deploy_load.sent > 100
    status, body = page(apps)
    assert status == 200 and "Microblog v1.1.0" in body
    assert hello_page(apps) == (200, "Hello v1.1.0")
    assert "Microblog" in page(apps, f"localhost:{apps.https_port}")[1]
    with pytest.raises(ConnectionError):  # a name neither serves: no answer (444)
        page(apps, f"other.localhost:{apps.https_port}")
    names = apps.sh("openssl x509 -in /etc/ssl/hello/fullchain.pem -noout -ext subjectAltName")
    assert f"DNS:{HELLO_NAME}" in names and "localhost," not in names
    listening = apps.sh("ss -ltnH")
    assert "127.0.0.1:8000" in listening and "127.0.0.1:8002" in listening  # blue of each
    assert "python3 -m gunicorn" in apps.sh("ps -o args= -u hello")
    assert apps.sh("ls /etc/nginx/sites-enabled") == "000-catch-all\nhello\nmicroblog"


def test_a_second_deploy_of_each_changes_nothing(apps):
    for env in (None, apps.hello_env):
        result = apps.deploy(env=env)
        assert result.returncode == 0, result.output[-3000:]
        assert "nothing changed since the last deploy" in result.output, result.output[-3000:]
        print(f"second deploy ({'hello' if env else 'microblog'}): {result.seconds:.1f} s")


def test_one_apps_user_reaches_none_of_the_others_files_nor_its_database(apps):
    out_of_reach = {
        ".env": "cat /srv/microblog/shared/.env",
        "secrets": "cat /etc/microblog/secrets.env",
        "logs": "ls /var/log/microblog",
        "releases": "ls /srv/microblog/releases/v1.1.0",
        "release code": "cat /srv/microblog/current/microblog.py",
        "venv": "ls /srv/microblog/current/venv/",
        "dumps": "ls /var/backups/microblog",
        "state": "ls /var/lib/microblog",
        "home": "ls /home/deploy",
    }
    for what, command in out_of_reach.items():
        output = apps.sh(command, check=False, user="hello")
        assert "Permission denied" in output, (what, output)
    # hello's own release it reads (an ACL of its own), while microblog's user cannot read hello's
    assert apps.sh("cat /srv/hello/current/VERSION", user="hello") == "v1.1.0"
    assert "Permission denied" in apps.sh("cat /srv/hello/current/VERSION", check=False, user="deploy")
    # hello's database user, with its own password, against microblog's database
    denied = apps.sh(
        "mariadb --defaults-file=/etc/hello/mysql-client.cnf microblog -e 'SELECT 1'", check=False
    ) + apps.sh("mariadb --defaults-file=/etc/hello/mysql-client.cnf -N -e 'SHOW DATABASES'", check=False)
    assert "Access denied for user 'hello'@'localhost' to database 'microblog'" in denied
    assert "microblog" not in denied.split("database 'microblog'")[1]


def test_an_update_of_one_under_load_on_both_fails_no_request_and_status_names_each_ones_release(apps):
    apps.hello_repo.release("v1.2.0")
    with Load(apps.https_url) as microblog, Load(apps.https_url, host=HELLO_NAME) as hello:
        result = apps.deploy(env=apps.hello_env)
    diagnose(apps, microblog, hello)
    assert result.returncode == 0, result.output[-3000:]
    print("microblog:", microblog.summary(), "\nhello:", hello.summary())
    assert microblog.failures == [] and hello.failures == []
    assert microblog.sent > 50 and hello.sent > 50
    assert hello_page(apps) == (200, "Hello v1.2.0") and "Microblog v1.1.0" in page(apps)[1]
    assert apps.sh("ss -ltnH | grep -c '127.0.0.1:800[0-3] '") == "2"  # each app's live color alone
    mine, theirs = apps.make("status", env=apps.hello_env), apps.make("status")
    assert mine.returncode == 0 and theirs.returncode == 0, mine.output + theirs.output
    assert "healthy (app hello)" in mine.output and "release: v1.2.0 " in mine.output, mine.output
    assert "healthy (app microblog)" in theirs.output and "release: v1.1.0 " in theirs.output, theirs.output


def test_a_rollback_maintenance_restore_and_status_of_one_leave_the_other_serving(apps):
    with Load(apps.https_url) as microblog:
        rolled = apps.make("rollback", env=apps.hello_env)
        assert rolled.returncode == 0, rolled.output[-3000:]
        assert hello_page(apps) == (200, "Hello v1.1.0")
        down = apps.make("maintenance", env=apps.hello_env)
        assert down.returncode == 0, down.output[-3000:]
        assert hello_page(apps)[0] == 503 and page(apps)[0] == 200
        live = apps.make("live", env=apps.hello_env)
        assert live.returncode == 0, live.output[-3000:]
        backup = apps.make("backup", env=apps.hello_env)
        assert backup.returncode == 0, backup.output[-3000:]
        restore = apps.make("restore", env=apps.hello_env)
        assert restore.returncode == 0 and "database restored from" in restore.output, restore.output[-3000:]
        assert apps.make("status", env=apps.hello_env).returncode == 0
    diagnose(apps, microblog)
    print("microblog:", microblog.summary())
    assert microblog.failures == [] and microblog.sent > 50
    assert hello_page(apps) == (200, "Hello v1.1.0") and "Microblog v1.1.0" in page(apps)[1]


def test_one_apps_user_holding_the_others_idle_port_fails_its_switch_and_gets_no_request(apps):
    idle = 8001 if apps.release_status()["live"] == "blue" else 8000
    apps.sh(
        f"cd /tmp && setsid nohup runuser -u hello -- python3 -m http.server --bind 127.0.0.1 {idle} "
        "> /tmp/held.log 2>&1 &"
    )
    apps.sh(f"for i in $(seq 50); do ss -Hltn 'sport = :{idle}' | grep -q . && exit; sleep 0.1; done; exit 1")
    apps.microblog_repo.release("v1.2.0")
    try:
        result = apps.deploy()
    finally:
        apps.sh("pkill -u hello -f http.server || true")
    assert result.returncode != 0
    assert f"v1.2.0 is not released: port {idle} of microblog-" in result.output, result.output[-3000:]
    assert "held by user hello" in result.output and "v1.1.0 still serves" in result.output
    assert "Microblog v1.1.0" in page(apps)[1] and "GET" not in apps.sh("cat /tmp/held.log")
    again = apps.deploy()
    assert again.returncode == 0, again.output[-3000:]
    assert "Microblog v1.2.0" in page(apps)[1] and hello_page(apps) == (200, "Hello v1.1.0")


def fingerprint(server):
    return server.sh(
        "find /etc/flask-deploy /etc/nginx /etc/supervisor /etc/systemd/system -type f -exec md5sum {} + | sort; "
        "getent passwd | cut -d: -f1 | sort; mariadb -N -e 'SHOW DATABASES'"
    )


def test_a_third_app_that_would_take_what_another_has_is_refused_before_any_change(apps):
    before = fingerprint(apps)
    third = ["--data", "app_name=third", "--data", "db_name=third", "--data", "db_user=third"]
    for clash, expected in (
        ([], "`app_user` = 'deploy' is app microblog's on local-server: give third its own."),
        (
            ["--data", "app_user=third", "--data", "server_names=hello.localhost"],
            "`server_names` hello.localhost: app hello serves them on local-server; each name has one app.",
        ),
        (
            ["--data", "app_user=third", "--data", "server_names=third.localhost", "--data", "bind=127.0.0.1:8001"],
            "`bind` port 8001 (and 8002, the green gunicorn's) meets app hello's 8002-8003 on local-server",
        ),
    ):
        result = apps.deploy(*third, *clash)
        assert result.returncode != 0 and expected in result.output, result.output[-3000:]
        assert "Nothing was changed." in result.output
    assert fingerprint(apps) == before


def test_make_remove_takes_one_app_off_and_the_other_keeps_serving(apps):
    refused = apps.make("remove", env=apps.hello_env)
    assert refused.returncode != 0 and "make remove APP=hello" in refused.output, refused.output[-2000:]
    with Load(apps.https_url) as microblog:
        removed = apps.make("remove", env=apps.hello_env, APP="hello")
    diagnose(apps, microblog)
    assert removed.returncode == 0, removed.output[-3000:]
    print("microblog:", microblog.summary())
    assert microblog.failures == [] and microblog.sent > 25
    with pytest.raises(ConnectionError):
        hello_page(apps)
    for gone in ("/srv/hello", "/etc/hello", "/var/lib/hello", "/var/log/hello", "/home/hello", "/etc/ssl/hello"):
        assert apps.sh(f"test -e {gone} && echo there || echo gone") == "gone", gone
    assert apps.sh("getent passwd hello hello_build; getent group hello_build", check=False) == ""
    assert "hello" not in apps.sh("supervisorctl status; ls /etc/nginx/sites-enabled /etc/flask-deploy/apps")
    # its data stays unless asked: the database, its user and the dumps
    assert "hello" in apps.sh("mariadb -N -e 'SHOW DATABASES'")
    again = apps.make("remove", env=apps.hello_env, APP="hello")
    assert again.returncode == 0, again.output[-3000:]
    # the other app's next deploy is still the converged one
    assert "nothing changed since the last deploy" in apps.deploy().output

    redeployed = apps.deploy(env=apps.hello_env)
    assert redeployed.returncode == 0, redeployed.output[-3000:]
    assert hello_page(apps) == (200, "Hello v1.2.0")
    assert "127.0.0.1:8002" in apps.sh("ss -ltnH") or "127.0.0.1:8003" in apps.sh("ss -ltnH")

    dropped = apps.make("remove", env=apps.hello_env, APP="hello", DATA="1")
    assert dropped.returncode == 0, dropped.output[-3000:]
    assert "hello" not in apps.sh("mariadb -N -e 'SHOW DATABASES'; mariadb -N -e 'SELECT User FROM mysql.user'")
    assert apps.sh("test -e /var/backups/hello && echo there || echo gone") == "gone"
    assert page(apps)[0] == 200
