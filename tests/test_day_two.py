"""Day two, end to end on one server, each through its make target as an operator runs it:
status, logs, shell, backups (on demand and nightly) and restore, maintenance, hooks and the
history. The sample app's repository grows during the tests."""

import contextlib
import json
import queue
import subprocess
import threading
import time

import pytest

from testbed.client import Load, http_get
from testbed.repos import breaking_column, new_table
from testbed.servers import PROGRAM, ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(deployed_server):
    return deployed_server


def status(server):
    result = server.make("status", JSON=1)
    return result.returncode, json.loads(result.stdout)["local-server"]


def hooks(stage, *commands):
    """--data of a hook setting, as an operator writes it on the command line (JSON)."""
    return ("--data", f"hooks_{stage}={json.dumps(list(commands))}")


def count(server, table="post", database="microblog"):
    return int(server.sh(f"mysql -N -e 'SELECT COUNT(*) FROM `{table}`' {database}"))


def test_status_names_the_serving_release_its_health_and_the_certificate(server):
    result = server.make("status")
    assert result.returncode == 0, result.output
    assert "local-server [app, db, web]: healthy" in result.stdout
    code, found = status(server)
    assert code == 0 and found["healthy"] and found["problems"] == []
    assert found["release"]["tag"] == "v1.1.0" and len(found["release"]["commit"]) == 40
    assert "@" in found["release"]["by"] and found["release"]["since"]
    assert found["database"] == {"reachable": True, "revision": "0001"}
    assert found["gunicorn"]["state"] == "RUNNING" and found["gunicorn"]["workers"] >= 2
    assert found["health"]["healthy"] and found["health"]["detail"] == "HTTP 200"
    assert found["certificate"]["days_left"] > 300 and "localhost" in found["certificate"]["issuer"]
    assert found["mariadb"] == "active" and found["firewall"] == "on" and found["maintenance"] is False
    assert found["disk"]["free_bytes"] > 0
    print(f"status: site {found['health']['seconds']} s, {found['gunicorn']['workers']} workers")


def test_status_exits_non_zero_when_gunicorn_is_stopped(server):
    live = server.live_program()
    server.sh(f"supervisorctl stop {live}")
    try:
        result = server.make("status")
        assert result.returncode != 0
        assert "UNHEALTHY" in result.stdout and f"gunicorn {live} is STOPPED" in result.stdout
    finally:
        server.sh(f"supervisorctl start {live}")
    assert status(server)[0] == 0


def test_logs_show_a_request_just_made_and_follow_new_ones(server):
    http_get(server.https_url + "/day-two-logged-request")
    result = server.make("logs", LINES=50)
    assert result.returncode == 0, result.output
    assert any(
        line.startswith("[local-server] ") and "GET /day-two-logged-request" in line
        for line in result.stdout.splitlines()
    )
    _, environment = server.deploy_command()
    command = ["make", "-s", "--no-print-directory", "logs", "FOLLOW=1", "LINES=0"]
    with subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True) as follow:
        lines = queue.Queue()

        def read():
            with contextlib.suppress(ValueError):  # closed at the end of the test
                for line in follow.stdout:
                    lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        try:
            time.sleep(3)  # ssh connected, tail following
            http_get(server.https_url + "/day-two-followed-request")
            seen = []
            while not any("/day-two-followed-request" in line for line in seen):
                seen.append(lines.get(timeout=30))
            assert seen[-1].startswith("[local-server] ")
        finally:
            follow.terminate()


def test_shell_runs_as_the_app_user_in_the_serving_release_with_its_settings(server):
    command = 'id -un; pwd -P; test -n "$$DATABASE_URL" && echo settings-loaded; echo "print(app.name)" | flask shell'
    result = server.make("shell", CMD=command)
    assert result.returncode == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == ["deploy", "/srv/microblog/releases/v1.1.0", "settings-loaded"]
    assert ">>> app" in result.stdout
    assert "mysql+pymysql" not in result.output  # the value itself is not shown


def test_restore_brings_back_a_deleted_row_with_the_site_in_maintenance_meanwhile(server):
    server.sh("mysql -e \"INSERT INTO post (body) VALUES ('restore me')\" microblog")
    result = server.make("backup")
    assert result.returncode == 0 and "database backed up to /var/backups/microblog/" in result.stdout
    before = count(server)
    server.sh("mysql -e \"DELETE FROM post WHERE body = 'restore me'\" microblog")
    assert count(server) == before - 1
    result = server.make("restore")
    assert result.returncode == 0, result.output
    assert "in maintenance (503)" in result.stdout and "the site is live" in result.stdout
    assert count(server) == before
    assert "restore me" in server.sh("mysql -N -e 'SELECT body FROM post' microblog")
    assert "before-restore.sql.gz" in server.make("backups").stdout  # the restore can be undone
    assert http_get(server.https_url + "/")[0] == 200
    restored = [line for line in server.make("history").stdout.splitlines() if "restored the database" in line]
    assert restored and "@" in restored[-1] and "-backup.sql.gz" in restored[-1]


def test_a_nightly_dump_restores_into_a_scratch_database_with_the_same_row_counts(server):
    assert server.sh("systemctl is-enabled microblog-backup.timer") == "enabled"
    assert "microblog-backup.service" in server.sh("systemctl list-timers microblog-backup.timer --no-pager")
    server.sh("systemctl start microblog-backup.service")  # what the timer starts at backup_time
    dump = server.sh("ls /var/backups/microblog | grep -- '-nightly.sql.gz$' | tail -n 1")
    assert dump and dump in server.sh("journalctl -u microblog-backup.service --no-pager | tail -n 3")
    server.sh("mysql -e 'CREATE DATABASE scratch'")
    try:
        server.sh(f"gzip -dc /var/backups/microblog/{dump} | mysql scratch")
        tables = server.sh("mysql -N -e 'SHOW TABLES' microblog").split()
        assert "post" in tables
        live = {table: count(server, table) for table in tables}
        assert {table: count(server, table, "scratch") for table in tables} == live
        print(f"nightly dump {dump}: row counts {live}")
    finally:
        server.sh("mysql -e 'DROP DATABASE scratch'")


def test_maintenance_answers_503_to_users_but_passes_the_health_checks_then_live_serves(server):
    result = server.make("maintenance")
    assert result.returncode == 0, result.output
    try:
        status_code, headers, body = http_get(server.https_url + "/")
        assert status_code == 503 and "Down for maintenance" in body and headers["Retry-After"] == "600"
        assert http_get(server.https_url + "/static/style.css")[0] == 503
        assert http_get(server.https_url + "/.well-known/acme-challenge/none")[0] == 404  # ACME still served
        assert server.sh(f"{PROGRAM} check") == "[microblog] healthy: HTTP 200"  # the servers' own checks pass
        code, found = status(server)
        assert code == 0 and found["maintenance"] is True
        deploy = server.deploy("--data", "health_check_path=/health")  # a deploy meanwhile checks the site
        assert deploy.returncode == 0, deploy.output[-3000:]
        assert http_get(server.https_url + "/")[0] == 503  # and leaves it in maintenance
        assert http_get(server.https_url + "/health")[0] == 404  # the health path is the app's (it has none)
    finally:
        result = server.make("live")
    assert result.returncode == 0 and "the site is live" in result.stdout
    assert http_get(server.https_url + "/")[0] == 200


def test_hooks_run_in_the_new_release_and_a_failing_one_rolls_it_back(server, repo):
    repo.release("v1.2.0", files=[new_table("0002", "0001", "comment")])
    before_rows = count(server)
    result = server.deploy(*hooks("before_migrate", "sh -c 'echo before-hook-output; exit 4'"))
    assert result.returncode != 0
    assert "before-hook-output" in result.output and "before-migrate hook" in result.output
    assert server.serving()[0] == "v1.1.0" and "comment" not in server.sh("mysql -N -e 'SHOW TABLES' microblog")

    result = server.deploy(*hooks("after_switch", "sh -c 'echo after-hook-output; exit 3'"))
    assert result.returncode != 0
    assert "after-hook-output" in result.output
    assert "its after-switch hook" in result.output and "rolled back: v1.1.0 serves again" in result.output
    assert server.serving() == ("v1.1.0", "releases/v1.1.0")
    assert "comment" not in server.sh("mysql -N -e 'SHOW TABLES' microblog") and count(server) == before_rows
    assert http_get(server.https_url + "/")[0] == 200

    passing = (
        *hooks("before_migrate", "flask --version", "sh -c 'pwd -P > /tmp/hook-ran'"),  # (the release is read-only)
        *hooks("after_switch", """sh -c 'test -n "$SECRET_KEY" && echo after-hook-saw-settings'"""),
    )
    result = server.deploy(*passing)
    assert result.returncode == 0, result.output[-3000:]
    assert "after-hook-saw-settings" in server.sh("tail -n 30 /var/lib/microblog/release.log")  # -vvv shows it too
    assert server.sh("cat /tmp/hook-ran") == "/srv/microblog/releases/v1.2.0"
    assert server.serving()[0] == "v1.2.0" and count(server) == before_rows


def test_history_lists_the_update_the_rollback_and_the_failures_with_operator_and_durations(server):
    rollback = server.deploy(deploy_file="rollback.py")
    assert rollback.returncode == 0, rollback.output[-3000:]
    result = server.make("history")
    assert result.returncode == 0, result.output
    lines = result.stdout.splitlines()
    deployed = [line for line in lines if "deployed v1.2.0" in line]
    rolled_back = [line for line in lines if "rolled back to v1.1.0" in line]
    failed = [line for line in lines if "FAILED deploy of v1.2.0" in line]
    assert deployed and rolled_back and len(failed) == 2, result.stdout
    for line in (deployed[-1], rolled_back[-1], *failed):
        assert line.startswith("[local-server] 20") and "@" in line and " s" in line
    assert "(commit " in deployed[-1] and "rolled back since" in deployed[-1]
    entries = json.loads(server.make("history", JSON=1).stdout)["local-server"]
    assert entries[-1]["event"] == "rollback" and entries[-1]["seconds"]["total"] > 0
    print("\n".join(lines))


def test_a_migration_marked_not_backward_compatible_runs_with_the_site_in_maintenance(server, repo):
    repo.release("v1.3.0", files=[breaking_column("0003", "0002")])
    with Load(server.https_url + "/", rate=20) as load:
        result = server.deploy()
    assert result.returncode == 0, result.output[-3000:]
    log = server.sh("tail -n 40 /var/lib/microblog/release.log")
    assert "the site is in maintenance: migration 0003 is not backward compatible" in log
    assert log.index("maintenance: migration 0003") < log.index("Running upgrade 0002 -> 0003")
    assert log.index("Running upgrade 0002 -> 0003") < log.index("the site is live again")
    print(f"update to a breaking migration under load: {load.summary()}")
    assert load.failures and {status for _, status in load.failures} == {503}, load.failures[:5]
    assert server.serving()[0] == "v1.3.0" and http_get(server.https_url + "/")[0] == 200
    assert status(server)[1]["maintenance"] is False
