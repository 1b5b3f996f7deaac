"""Updates end to end: new releases under load with zero failed requests, a failing migration and a
failing app rolled back automatically, an update with nothing new, and `make rollback`. The sample
app's repository grows during the tests."""

import os
import re
import signal
import subprocess
import time

import pytest

from testbed import repos
from testbed.client import Load, http_get, wait_for_http
from testbed.repos import migration, new_table
from testbed.servers import APP_DIR, ROOT, changed_operations

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(deployed_server):
    return deployed_server


def page(server):
    return re.search(r"<h1>(.*?)</h1>", http_get(server.url + "/")[2]).group(1)


def schema(server):
    tables = server.sh("mysql -N -e 'SHOW TABLES' microblog").split()
    return {table: server.sh(f"mysql -N -e 'SHOW COLUMNS FROM `{table}`' microblog") for table in tables}


def rows(server):
    return server.sh("mysql -N -e 'SELECT id, body FROM post ORDER BY id' microblog")


def revision(server):
    return server.sh("mysql -N -e 'SELECT version_num FROM alembic_version' microblog")


def test_update_to_a_tag_with_a_migration_serves_it_without_a_failed_request(server, repo):
    before = rows(server)
    repo.release(
        "v1.2.0",
        files=[new_table("0002", "0001", "comment")],
    )
    with Load(f"https://127.0.0.1:{server.https_port}/", rate=25) as load:
        result = server.deploy()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert page(server) == "Microblog v1.2.0"
    assert revision(server) == "0002" and "comment" in schema(server)
    assert rows(server) == before
    print(f"update v1.1.0 -> v1.2.0 in {result.seconds:.1f}s under load: {load.summary()}")
    assert load.sent >= 20 * result.seconds * 0.9  # at least 20 requests/s
    assert load.failures == [], load.failures[:5]
    # Same requirements: the venv of v1.1.0 serves v1.2.0 too, nothing was installed.
    assert server.sh(f"ls {APP_DIR}/venvs").split() == [
        os.path.basename(server.sh(f"readlink {APP_DIR}/releases/v1.1.0/venv"))
    ]
    assert "release v1.1.0 -> v1.2.0" in result.stdout + result.stderr
    # the server was as its first deploy left it: only the release steps ran
    assert "nothing changed since the last deploy but the release" in result.stdout + result.stderr
    for task in ("System packages", "MariaDB", "nginx"):
        assert f"Starting operation: {task} |" not in result.stdout + result.stderr


def test_a_failing_migration_leaves_the_serving_release_schema_and_rows_as_they_were(server, repo):
    before = schema(server), rows(server), revision(server)
    repo.release(
        "v1.3.0",
        files=[
            migration(
                "0003",
                "0002",
                "half applied",
                "op.create_table('half', sa.Column('id', sa.Integer(), primary_key=True))\n"
                "op.execute('SELECT no_such_column FROM no_such_table')",
                "op.drop_table('half')",
            )
        ],
    )
    result = server.deploy()
    assert result.returncode != 0
    assert "the migration of v1.3.0 failed" in result.stdout + result.stderr
    assert "v1.2.0 still serves" in result.stdout + result.stderr
    assert page(server) == "Microblog v1.2.0"
    assert (schema(server), rows(server), revision(server)) == before


def test_an_app_failing_its_health_check_is_rolled_back_with_its_migration(server, repo):
    repo.git("checkout", "-q", "-b", "hotfix", "v1.2.0")  # the broken v1.3.0 stays behind
    before = schema(server), rows(server), revision(server)
    repo.release(
        "v1.4.0",
        files=[
            migration(
                "0004",
                "0002",
                "post title",
                "op.add_column('post', sa.Column('title', sa.String(80)))",
                "op.drop_column('post', 'title')",
            ),
            ("app/templates/index.html", "{{ release | no_such_filter }}"),  # every page answers 500
        ],
    )
    live = server.live_program()
    result = server.deploy("--data", "health_check_seconds=5")
    assert result.returncode != 0
    assert "v1.4.0 failed its health check" in result.stdout + result.stderr
    assert "v1.2.0 serves again" in result.stdout + result.stderr
    assert page(server) == "Microblog v1.2.0"
    assert (schema(server), rows(server), revision(server)) == before
    # the live color ran half its workers while v1.4.0 started beside it: all given back
    assert server.live_program() == live
    workers = f"pgrep -c -P $(supervisorctl pid {live})"
    cores = int(server.sh("nproc"))
    assert server.sh(f"for i in $(seq 50); do [ $({workers}) = {2 * cores} ] && exit; sleep 0.1; done; {workers}") == ""


def test_an_update_with_nothing_new_changes_nothing_and_old_releases_are_removed(server, repo):
    repo.git("checkout", "-q", "-b", "hotfix-2", "v1.2.0")  # without the broken v1.4.0
    repo.release("v1.5.0")
    keep_two = ("--data", "releases_keep=2")
    result = server.deploy(*keep_two)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert page(server) == "Microblog v1.5.0"
    # v1.1.0 is past the last 2 deployed; v1.3.0 and v1.4.0 never served.
    assert server.sh(f"ls {APP_DIR}/releases").split() == ["v1.2.0", "v1.5.0"]

    again = server.deploy("--json", *keep_two)
    assert again.returncode == 0
    assert not changed_operations(again)
    assert "v1.5.0 serves already" in again.output


def test_rollback_brings_the_previous_release_back(server):
    with Load(f"https://127.0.0.1:{server.https_port}/", rate=25) as load:
        result = server.deploy(deploy_file="rollback.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "rollback v1.5.0 -> v1.2.0" in result.stdout + result.stderr
    assert page(server) == "Microblog v1.2.0"
    if load.failures:
        print(server.sh("tail -60 /var/log/microblog/error.log; tail -5 /var/log/nginx/error.log"))
    assert load.failures == [], load.failures[:5]
    print(f"rollback under load: {load.summary()}")

    result = server.deploy(deploy_file="rollback.py")
    assert result.returncode != 0 and "v1.2.0 is the oldest release kept" in result.stdout + result.stderr


def test_a_missing_ref_or_a_repository_without_tags_stops_before_any_change(server, tmp_path):
    serving = server.sh(f"readlink {APP_DIR}/current")
    result = server.deploy("--data", "ref=v9.9.9")
    assert result.returncode != 0
    assert "The ref `v9.9.9` (setting `ref`) does not exist" in result.stdout + result.stderr

    untagged = repos.Repo(str(tmp_path))
    untagged.git("init", "-q")
    untagged.write("app.py", "")
    untagged.commit("no tag yet")
    result = server.deploy("--data", f"repo={tmp_path}")
    assert result.returncode != 0 and "has no tag" in result.stdout + result.stderr
    assert server.sh(f"readlink {APP_DIR}/current") == serving


def test_a_release_that_fails_to_install_or_to_load_leaves_the_serving_release(server, repo):
    with open(os.path.join(repo.path, "requirements.txt")) as handle:
        requirements = handle.read()
    repo.release("v1.6.0", files=[("requirements.txt", requirements + "no-such-package-for-this-test==0.0.1\n")])
    result = server.deploy()
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "building release v1.6.0 failed" in output and "v1.2.0 still serves" in output
    assert page(server) == "Microblog v1.2.0"

    with open(os.path.join(repo.path, "microblog.py")) as handle:
        app_module = handle.read()
    repo.release(
        "v1.6.1",
        files=[
            ("requirements.txt", requirements),
            ("microblog.py", app_module + "raise RuntimeError('broken on purpose')\n"),
        ],
    )
    result = server.deploy()
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "RuntimeError: broken on purpose" in output
    assert "the app of v1.6.1 does not load (see the errors above); v1.2.0 still serves." in output
    assert page(server) == "Microblog v1.2.0" and server.sh(f"readlink {APP_DIR}/current") == "releases/v1.2.0"


def test_an_interrupted_update_converges_on_a_plain_rerun(server, repo):
    repo.git("checkout", "-q", "-b", "hotfix-3", "v1.5.0")
    with open(os.path.join(repo.path, "requirements.txt")) as handle:
        requirements = handle.read()
    # One more requirement: the update spends seconds in pip, where it is interrupted.
    repo.release("v1.7.0", files=[("requirements.txt", requirements + "six==1.16.0\n")])
    command, environment = server.deploy_command()
    deploy = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not server.sh("pgrep -f 'pip install' || true"):
        assert time.time() < deadline and deploy.poll() is None, "the update never reached pip"
        time.sleep(0.2)
    deploy.send_signal(signal.SIGINT)  # Ctrl-C
    deploy.wait(timeout=60)

    result = server.deploy()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert page(server) == "Microblog v1.7.0"
    assert server.release_status()["serving"] == "v1.7.0"
    again = server.deploy("--json")
    assert not changed_operations(again)


def test_a_full_disk_during_an_update_leaves_the_serving_release(server, repo):
    repo.release("v1.8.0")  # on top of v1.7.0
    partial = f"{APP_DIR}/releases/v1.8.0.partial"  # where the release is unpacked: 16 kB of room
    server.sh(
        f"mkdir -p {partial} && mount -t tmpfs -o size=16k,uid=$(id -u deploy_build),gid=$(id -g deploy_build) tmpfs "
        f"{partial}"
    )
    try:
        result = server.deploy()
    finally:
        server.sh(f"umount {partial}; rmdir {partial}")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "No space left on device" in output and "building release v1.8.0 failed" in output
    assert "v1.7.0 still serves" in output and page(server) == "Microblog v1.7.0"


def test_mariadb_stopped_at_deploy_time_is_started_again(server):
    server.sh("systemctl stop mariadb")
    result = server.deploy("--data", "ref=v1.7.0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert server.sh("systemctl is-active mariadb") == "active"
    assert "Reload microblog gracefully" in result.stdout + result.stderr  # fresh database connections
    wait_for_http(server.url + "/", timeout=15)  # the reload is graceful: old workers finish first
    assert page(server) == "Microblog v1.7.0"
