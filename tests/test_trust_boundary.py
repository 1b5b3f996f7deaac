"""The app user may not reach root, and a release may not lose data or hang: the app user's links,
the build it cannot change, and a view in place of alembic_version; the release lock; a truncated
dump; an interrupted release. (The repository's side: test_repository_input.py; each route an
attacker would take: test_attacks.py.)"""

import os
import signal
import subprocess
import time

import pytest

from testbed.repos import migration, new_table
from testbed.servers import APP_DIR, ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(deployed_server):
    return deployed_server


# What the app user can write: its folder shared/, made links to root-owned files where root (or
# the deploy) once touched files there.
TRAPS = ("shared/.env", "shared/.env.new", "shared/mysql-client.cnf", "shared/pip-constraints.txt")
# What it cannot: root's links, the build account's repository and releases.
BARRED = ("current", "current.next", "slots/blue", "slots/x", "releases/x", "repo/config", "venvs/x")


def test_the_app_user_cannot_make_root_follow_a_link_change_the_build_or_read_its_view(server, repo):
    server.sh("for n in $(seq 20); do echo canary > /root/canary-$n; chmod 0640 /root/canary-$n; done")
    canaries = server.sh("stat -c '%n %s %a %U %Y' /root/canary-*; sha1sum /root/canary-*")
    traps = " && ".join(
        f"rm -rf {APP_DIR}/{path} && ln -s /root/canary-{number} {APP_DIR}/{path}"
        for number, path in enumerate(TRAPS, 1)
    )
    server.sh(traps, user="deploy")
    for path in BARRED:
        refused = server.sh(f"ln -sfn /root/canary-1 {APP_DIR}/{path} 2>&1 || true", user="deploy")
        assert "Permission denied" in refused, path
    server.sh(f"git --git-dir={APP_DIR}/repo config core.fsmonitor true 2>&1 || true", user="deploy")
    assert server.sh(f"git config --file {APP_DIR}/repo/config core.fsmonitor || true") == ""
    # alembic_version as the app user's view, calling a function that records who reads it
    password = server.sh("sed -n 's/^DB_PASSWORD=\"\\(.*\\)\"$/\\1/p' /etc/microblog/secrets.env")
    as_app = f"mariadb -u microblog -p{password} microblog"
    server.sh(
        f"{as_app} <<'EOF'\nCREATE TABLE who_read (who VARCHAR(200));\n"
        "RENAME TABLE alembic_version TO alembic_real;\nDELIMITER //\n"
        "CREATE FUNCTION reader() RETURNS INT SQL SECURITY INVOKER MODIFIES SQL DATA BEGIN "
        "INSERT INTO who_read VALUES (CURRENT_USER()); RETURN 1; END//\nDELIMITER ;\n"
        "CREATE SQL SECURITY INVOKER VIEW alembic_version AS SELECT version_num FROM alembic_real WHERE "
        "reader() = 1;\nEOF"
    )
    repo.release(
        "v1.2.0",
        files=[new_table("0002", "0001", "comment")],
    )
    result = server.deploy()
    assert server.sh("stat -c '%n %s %a %U %Y' /root/canary-*; sha1sum /root/canary-*") == canaries
    readers = set(server.sh(f"{as_app} -N -e 'SELECT DISTINCT who FROM who_read'").split())
    assert readers <= {"microblog@localhost"}, readers
    assert server.sh("find /root /etc /usr/local /var/lib/microblog -newer /root/canary-20 -user deploy") == ""
    if result.returncode == 0:
        assert server.release_status()["serving"] == "v1.2.0" and "Microblog v1.2.0" in server.page()
    else:  # it may stop, but then with a message naming the cause
        assert "[microblog]" in result.output, result.output[-3000:]
    print(f"deploy with the app user's traps: exit {result.returncode}, readers {readers}")
    # put the app user's tree and database back for the next tests
    server.sh(
        f"{as_app} -e 'DROP VIEW alembic_version; RENAME TABLE alembic_real TO alembic_version; "
        "DROP FUNCTION reader; DROP TABLE who_read'"
    )
    again = server.deploy()
    assert again.returncode == 0, again.output[-3000:]
    assert server.release_status()["serving"] == "v1.2.0" and "Microblog v1.2.0" in server.page()


def test_the_app_user_cannot_hold_the_release_lock_and_a_stuck_holder_is_named(server, repo):
    assert "Permission denied" in server.sh("flock -n /var/lib/microblog/lock true", check=False, user="deploy")
    server.sh("systemd-run --unit stuck-release flock /var/lib/microblog/lock sleep 600")
    repo.release("v1.3.0")
    try:
        started = time.time()
        result = server.deploy("--data", "release_lock_seconds=5")
        took = time.time() - started
    finally:
        server.sh("systemctl stop stuck-release")
    assert result.returncode != 0 and took < 60
    assert "another release transaction holds /var/lib/microblog/lock: process" in result.output
    assert "flock /var/lib/microblog/lock sleep 600), running since" in result.output
    assert "Waited 5 s (setting release_lock_seconds)" in result.output
    assert server.release_status()["serving"] == "v1.2.0"
    assert server.deploy().returncode == 0 and server.release_status()["serving"] == "v1.3.0"


def test_a_half_applied_migration_whose_dump_is_truncated_is_left_as_it_is_and_said_so(server, repo):
    rows = server.sh("mysql -N -e 'SELECT id, body FROM post' microblog")
    before = server.release_status()["serving"]
    repo.release(
        "v1.4.0",
        files=[
            migration(
                "0003",
                "0002",
                "title then failure",
                "import time\nop.add_column('post', sa.Column('title', sa.String(80)))\ntime.sleep(6)\n"
                "op.execute('SELECT no_such_column FROM no_such_table')",
                "op.drop_column('post', 'title')",
            )
        ],
    )
    command, environment = server.deploy_command()
    deploy = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.time() + 300
    while "title" not in server.sh("mysql -N -e 'SHOW COLUMNS FROM post' microblog"):
        assert time.time() < deadline and deploy.poll() is None, "the migration never started"
        time.sleep(0.3)
    dump = server.sh("ls -1 /var/backups/microblog | tail -n 1")
    server.sh(f"truncate -s 100 /var/backups/microblog/{dump}")
    output = deploy.communicate(timeout=300)[0]
    assert deploy.returncode != 0
    assert f"the dump /var/backups/microblog/{dump} is not the file that was written" in output
    assert "the database was NOT restored" in output and f"{before} serves" in output, output[-3000:]
    # nothing dropped: the rows and the half-migrated table stay for the operator
    assert server.sh("mysql -N -e 'SELECT id, body FROM post' microblog") == rows
    assert "title" in server.sh("mysql -N -e 'SHOW COLUMNS FROM post' microblog")
    assert server.release_status()["serving"] == before and f"Microblog {before}" in server.page()
    server.sh("mysql -e 'ALTER TABLE post DROP COLUMN title' microblog")  # the operator's fix
    repo.git("tag", "-d", "v1.4.0")
    repo.git("checkout", "-q", "-b", "without-v1.4.0", "v1.3.0")


def interrupt_when(server, repo, version, files, ready):
    """Starts a deploy of a new tag and sends it SIGINT (Ctrl-C) once `ready` (a shell test in
    the server) holds; returns the deploy's exit status."""
    repo.release(version, files=files)
    command, environment = server.deploy_command()
    deploy = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while server.sh(f"{ready} && echo yes || true") != "yes":
        assert time.time() < deadline and deploy.poll() is None, f"the deploy of {version} never got there"
        time.sleep(0.1)
    deploy.send_signal(signal.SIGINT)
    return deploy.wait(timeout=60)


@pytest.mark.parametrize("step", ["migration", "switch"])
def test_an_interrupted_release_converges_on_a_plain_rerun_and_rollback_knows_what_served(server, repo, step):
    before = server.release_status()["serving"]
    version = "v1.5.0" if step == "migration" else "v1.6.0"
    if step == "migration":
        files = [
            migration(
                "0004",
                "0002",
                "slow table",
                "import time\nop.create_table('slow', sa.Column('id', sa.Integer(), primary_key=True))\ntime.sleep(5)",
                "op.drop_table('slow')",
            )
        ]
        ready = "pgrep -f 'flask db upgrade' >/dev/null"
    else:  # an app that takes seconds to load: the switch waits for its new workers
        with open(os.path.join(repo.path, "microblog.py")) as handle:
            app = handle.read()
        files = [("microblog.py", "import time\ntime.sleep(3)\n" + app)]
        ready = 'grep -q \'"step": "switch"\' /var/lib/microblog/state.json'
    interrupt_when(server, repo, version, files, ready)
    rerun = server.deploy()
    assert rerun.returncode == 0, rerun.output[-3000:]
    assert server.release_status()["serving"] == version and f"Microblog {version}" in server.page()
    assert server.release_status()["interrupted"] is None
    back = server.deploy(deploy_file="rollback.py")
    assert back.returncode == 0, back.output[-3000:]
    assert f"rollback {version} -> {before}" in back.output and server.release_status()["serving"] == before
    if step == "migration":
        assert "slow" not in server.sh("mysql -N -e 'SHOW TABLES' microblog").split()
    forward = server.deploy("--data", f"ref={version}")  # the next test starts from the new release
    assert forward.returncode == 0, forward.output[-3000:]
