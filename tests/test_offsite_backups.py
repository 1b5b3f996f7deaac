"""Backups that survive the server, against real repositories in a container of their own (a
restic REST server started append-only, an sftp account): a row and an uploaded file backed up,
the server deleted, a fresh one deployed and restored from the latest snapshot with its data, its
files and its secrets; the server cannot delete a snapshot, the operator's machine applies the
retention; the nightly backup and its restore drill in `make status`; a repository down makes
status unhealthy and an alert arrive; an sftp host's key pinned, at first contact or by the
operator; the password and the credentials nowhere but root's files."""

import json
import shlex
import time

import pytest

from core.settings import environment
from core.settings.backup_settings import REST_PASSWORD
from testbed import local_server
from testbed.backup_host import CREDENTIALS, BackupHost
from testbed.client import http_get
from testbed.servers import APP_DIR, PROGRAM, Server

pytestmark = pytest.mark.e2e
PASSWORD = "offsite-repository-password-0123"  # noqa: S105 (the test repository's)
UPLOAD = f"{APP_DIR}/shared/uploads/avatar.png"
ROW = "written before the server was lost"


@pytest.fixture(scope="module")
def backup_host(engine, state_dir):
    host = BackupHost(state_dir)
    yield host
    host.remove()


def env(backup_host, password=PASSWORD, **settings):
    """The environment of a deploy or make target with off-site backups: the local server's
    settings (what group_data or inventory.py would hold) and BACKUP_PASSWORD."""
    chosen = {**backup_host.settings(), "alert_url": backup_host.alert_url, "backup_paths": ["uploads"], **settings}
    return {
        local_server.SETTINGS_VARIABLE: json.dumps(chosen),
        environment.BACKUP_PASSWORD: password,
        **CREDENTIALS,
    }


@pytest.fixture(scope="module")
def servers(engine, state_dir, repo):
    made = []
    yield lambda: made.append(Server(state_dir, repo.path)) or made[-1]
    for server in made:
        server.remove()


def snapshots(server, backup_host):
    listed = server.make("backups", env=env(backup_host))
    assert listed.returncode == 0, listed.output
    return [line for line in listed.stdout.splitlines() if "] off-site " in line]


@pytest.fixture(scope="module")
def rebuilt(servers, backup_host):
    """A server backed up, lost, and a fresh one restored from the latest snapshot: (server, the
    lost one's secrets, the snapshots before, the seconds of the recovery)."""
    lost = servers()
    first = lost.deploy(env=env(backup_host))
    assert first.returncode == 0, first.output[-3000:]
    assert "the off-site repository is made" in lost.sh("tail -n 200 /var/lib/microblog/release.log")
    lost.sh(f"mysql -e \"INSERT INTO post (body) VALUES ('{ROW}')\" microblog")
    lost.sh(f"mkdir -p {APP_DIR}/shared/uploads && echo picture > {UPLOAD}", user="deploy")
    backup = lost.make("backup", env=env(backup_host))
    assert backup.returncode == 0 and "copied off-site: snapshot" in backup.output, backup.output
    secrets = lost.sh("grep -E '^(SECRET_KEY|DB_PASSWORD)=' /etc/microblog/secrets.env")
    before = snapshots(lost, backup_host)
    lost.remove()  # the server is gone, with every dump on it

    started = time.time()
    fresh = servers()
    deployed = fresh.deploy(env=env(backup_host))
    assert deployed.returncode == 0, deployed.output[-3000:]
    listed = snapshots(fresh, backup_host)
    restored = fresh.make("restore", env=env(backup_host), SNAPSHOT="latest")
    assert restored.returncode == 0, restored.output[-3000:]
    seconds = time.time() - started
    print(
        f"from a blank server to serving the restored data: {seconds:.1f} s (its first deploy {deployed.seconds:.1f} s)"
    )
    assert listed == before  # a fresh server's empty database is not copied off-site
    return fresh, secrets, before


def test_a_fresh_server_gets_the_lost_ones_data_files_and_secrets_back(rebuilt):
    server, secrets, _ = rebuilt
    assert ROW in server.sh("mysql -N -e 'SELECT body FROM post' microblog")
    assert server.sh(f"cat {UPLOAD}; stat -c %U {UPLOAD}") == "picture\ndeploy"
    assert server.sh("grep -E '^(SECRET_KEY|DB_PASSWORD)=' /etc/microblog/secrets.env") == secrets
    key = secrets.splitlines()[0].split("=", 1)[1]
    assert f"SECRET_KEY={key}" in server.sh(f"cat {APP_DIR}/shared/.env")  # the app's sessions stay valid
    assert http_get(server.https_url + "/")[0] == 200
    history = server.make("history").stdout
    assert "restored the database from snapshot" in history


def test_the_server_cannot_delete_a_snapshot_and_the_operators_machine_applies_the_retention(rebuilt, backup_host):
    server, _, before = rebuilt
    first = before[0].split()[2]
    forget = server.sh(
        f"set -a; . /etc/microblog/release-secrets.env; restic forget {first} 2>&1 || echo refused",
    )
    assert "refused" in forget
    assert any(first in line for line in snapshots(server, backup_host))  # still there
    assert server.deploy(env=env(backup_host)).returncode == 0  # and nothing else minds
    many = len(snapshots(server, backup_host))
    applied = server.make("offsite-forget", env=env(backup_host))  # through the admin side
    assert applied.returncode == 0, applied.output
    assert 1 <= len(snapshots(server, backup_host)) < many  # one a day is kept (all are today's)


def test_the_nightly_backup_is_drilled_and_shows_in_status(rebuilt, backup_host):
    server, _, _ = rebuilt
    server.sh("systemctl start microblog-backup.service")  # what the timer starts at backup_time
    status = server.make("status", env=env(backup_host), JSON=1)
    assert status.returncode == 0, status.output
    found = json.loads(status.stdout)["local-server"]["offsite"]
    assert found["copy"]["ok"] and found["drill"]["ok"] and found["drill"]["tables"] >= 2
    assert "append-only" in found["retention"]["result"]  # the server could not apply it
    text = server.make("status", env=env(backup_host)).stdout
    assert "off-site copy: ok, " in text and "off-site drill: ok, " in text and " ago (" in text  # with its age


def test_a_repository_down_makes_status_unhealthy_and_someone_hears_of_it(rebuilt, backup_host):
    server, _, _ = rebuilt
    backup_host.stop_rest()
    try:
        server.sh("systemctl start microblog-backup.service || true")
        status = server.make("status", env=env(backup_host))
        assert status.returncode != 0 and "UNHEALTHY" in status.output
        assert "the last off-site copy" in status.output and "failed" in status.output, status.output
        alerts = [json.loads(line) for line in backup_host.alerts().splitlines()]
        nightly = [alert for alert in alerts if alert["event"] == "nightly-backup-failed"]
        assert nightly and nightly[-1]["app"] == "microblog" and nightly[-1]["message"], alerts
        update = server.make("backup", env=env(backup_host))  # a dump still taken, the copy said to fail
        assert update.returncode == 0 and "stays in /var/backups/microblog alone" in update.output
    finally:
        backup_host.start_rest()
    server.sh("systemctl start microblog-backup.service")
    assert server.make("status", env=env(backup_host)).returncode == 0
    wrong = server.deploy(env=env(backup_host, password="not-the-password-at-all"))
    assert wrong.returncode == 0 and "refuses its password (BACKUP_PASSWORD)" in wrong.output
    assert server.deploy(env=env(backup_host)).returncode == 0


def test_the_password_and_credentials_show_nowhere_but_in_roots_files(rebuilt, backup_host):
    server, _, _ = rebuilt
    with server.command_lines() as samples:
        result = server.deploy("-vvv", env=env(backup_host, alert_url=backup_host.alert_url + "?x=1"))
        backup = server.make("backup", env=env(backup_host))
    assert result.returncode == 0 and backup.returncode == 0, result.output[-3000:]
    for secret in (PASSWORD, CREDENTIALS[REST_PASSWORD]):
        for text in (result.output, backup.output, samples[0]):
            assert secret not in text
        holding = server.sh(
            f"grep -rlF {shlex.quote(secret)} /etc /var /srv /home /tmp /root 2>/dev/null || true"
        ).split()
        assert sorted(holding) == ["/etc/microblog/release-secrets.env", "/etc/microblog/secrets.env"], holding
        for path in holding:
            assert server.sh(f"stat -c '%a %U' {path}") == "600 root"
    assert "Permission denied" in server.sh("cat /etc/microblog/release-secrets.env 2>&1 || true", user="deploy")


def test_an_sftp_repositorys_host_key_is_pinned(rebuilt, backup_host):
    server, _, _ = rebuilt
    sftp = env(backup_host, backup_repository=backup_host.sftp_repository(), backup_ssh_key=backup_host.key)
    deployed = server.deploy(env=sftp)
    assert deployed.returncode == 0, deployed.output[-3000:]
    backup = server.make("backup", env=sftp)
    assert "copied off-site: snapshot" in backup.output, backup.output
    assert server.sh(f"ssh-keygen -F {backup_host.address} -f /etc/microblog/backup-known-hosts")  # pinned
    assert server.sh("stat -c '%a %U' /etc/microblog/backup-ssh-key") == "600 root"
    backup_host.server.sh("rm /etc/ssh/ssh_host_* && ssh-keygen -A -q && systemctl restart ssh")  # another host now
    changed = server.make("backup", env=sftp)
    assert "the off-site copy failed" in changed.output.lower() or "stays in /var/backups" in changed.output
    status = server.sh(f"{PROGRAM} report || true")
    assert "the last off-site copy" in status and "failed" in status
    kind, key = backup_host.server.sh("cat /etc/ssh/ssh_host_ed25519_key.pub").split()[:2]
    sftp[local_server.SETTINGS_VARIABLE] = json.dumps(
        {
            **json.loads(sftp[local_server.SETTINGS_VARIABLE]),
            "backup_ssh_host_key": f"{backup_host.address} {kind} {key}",
        }
    )
    assert server.deploy(env=sftp).returncode == 0  # the operator pins the host's new key
    assert "copied off-site: snapshot" in server.make("backup", env=sftp).output
