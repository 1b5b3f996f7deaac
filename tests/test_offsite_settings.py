"""Off-site backups without a server: their settings refused before any connection (a password
never generated, no credentials in a URL), what the release program is given, REST credentials
kept out of every setting, `make status`'s judgement of a late or failed copy and drill, alerts."""

import http.server
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from core.glue.render import render_text
from core.settings import environment
from core.settings.backup_settings import repository_with_credentials, sftp_target
from core.settings.checks import problems
from core.settings.program_config import program_config
from core.settings.roles import Roles
from flask_release import alerts
from flask_release.config import Config
from flask_release.offsite import Record
from flask_release.report import _offsite
from tests.helpers import SPREAD, data, settings_of
from tests.test_release_steps import config


@pytest.fixture
def password(monkeypatch):
    monkeypatch.setenv(environment.BACKUP_PASSWORD, "a-password-of-the-operators")


def offsite_problems(**settings):
    return [
        problem
        for problem in problems(data(tls="self-signed", **settings))
        if "backup" in problem or "alert" in problem
    ]


def test_a_repository_needs_the_operators_password_never_a_generated_one(monkeypatch):
    monkeypatch.delenv(environment.BACKUP_PASSWORD, raising=False)
    found = offsite_problems(backup_repository="rest:https://backups.example.org/app")
    assert len(found) == 1 and "set BACKUP_PASSWORD in this machine's environment" in found[0]
    assert offsite_problems() == []  # none asked for: none needed


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"backup_repository": "ftp://host/x"}, "not a restic repository"),
        ({"backup_repository": "rest:https://user:pw@host/x"}, "name them in backup_secrets"),
        ({"backup_repository": "rest:https://host/x", "backup_ssh_key": "/no/such/key"}, "for an sftp:"),
        ({"backup_repository": "s3:s3.amazonaws.com/bucket", "backup_secrets": ["AWS_SECRET_ACCESS_KEY"]}, "set in"),
        ({"backup_repository": "/mnt/backups", "backup_paths": ["../etc"]}, "folder of the app's shared folder"),
        ({"backup_repository": "/mnt/backups", "backup_offsite_keep": {"daily": 0}}, "positive counts"),
        ({"alert_url": "mailto:ops@example.org"}, "http(s) URL"),
        ({"backup_repository": "sftp:u@h:/r", "backup_ssh_host_key": "h ssh-ed25519 AAAA; reboot"}, "ssh-keyscan"),
        ({"backup_repository": "/mnt/backups", "backup_ssh_host_key": "h ssh-ed25519 AAAAC3Nz"}, "ssh-keyscan"),
    ],
)
def test_bad_offsite_settings_are_refused_naming_the_fix(password, settings, said):
    found = offsite_problems(**settings)
    assert found and said in found[0], found
    assert "user:pw" not in " ".join(found)


def test_the_release_program_is_told_where_and_what_to_copy(password, tmp_path):
    s = settings_of(backup_repository="sftp:offsite@10.0.0.9:/srv/repo", backup_paths=["uploads"])
    (tmp_path / "release.json").write_text(program_config(s))
    loaded = Config.load(str(tmp_path / "release.json"))
    assert loaded.offsite and loaded.drill and loaded.drill_db == "microblog_drill"
    assert loaded.offsite_paths == ("/srv/microblog/shared/uploads",)
    assert loaded.backup_offsite_keep == (("daily", 7), ("monthly", 12), ("weekly", 4))
    command = loaded.restic_options[1]
    assert "UserKnownHostsFile=/etc/microblog/backup-known-hosts" in command and "offsite@10.0.0.9 -s sftp" in command
    assert "StrictHostKeyChecking=accept-new" in command  # pinned at first contact, refused when it changes
    key = "10.0.0.9 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk"
    pinned = settings_of(backup_repository="sftp:offsite@10.0.0.9:/srv/repo", backup_ssh_host_key=key)
    assert "StrictHostKeyChecking=yes" in pinned.restic_options[1] and pinned.backup_ssh_host_key == key + "\n"
    assert offsite_problems(backup_repository="sftp:offsite@10.0.0.9:/srv/repo", backup_ssh_host_key=key) == []
    assert not settings_of("app2", SPREAD, backup_repository="/mnt/b").offsite  # the app host that migrates alone
    external = Roles(web=("one",), app=("one",), db=None, addresses=(("one", "127.0.0.1"),))  # db_host's layout
    assert not settings_of(layout=external, backup_repository="/mnt/b", db_host="db.example.org").drill


def test_rest_credentials_reach_root_s_file_alone(password):
    secrets = {"RESTIC_REST_USERNAME": "ops", "RESTIC_REST_PASSWORD": "p@ss/word"}
    assert (
        repository_with_credentials("rest:https://host:8000/app", secrets)
        == "rest:https://ops:p%40ss%2Fword@host:8000/app"
    )
    assert repository_with_credentials("s3:bucket", secrets) == "s3:bucket"
    s = settings_of(backup_repository="rest:https://host/app", alert_url="https://hooks.example.org/t0k3n")
    text = render_text(
        "release-secrets.env.j2", s, repository="rest:https://ops:x@host/app", backup=[("BACKUP_PASSWORD", "pw")]
    )
    assert 'RESTIC_PASSWORD="pw"' in text and 'ALERT_URL="https://hooks.example.org/t0k3n"' in text
    assert "t0k3n" not in program_config(s)
    assert sftp_target("sftp://offsite@host:2222//srv/repo") == ("offsite@host", 2222)


def stamp(hours_ago):
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_status_is_unhealthy_when_a_copy_or_drill_failed_or_none_passed_for_over_a_day(tmp_path, monkeypatch):
    settings = config(tmp_path, offsite=True, drill=True)
    monkeypatch.setattr(type(settings.paths), "offsite_record", property(lambda self: str(tmp_path / "offsite.json")))

    def judged(record):
        (tmp_path / "offsite.json").write_text(json.dumps(record))
        found = []
        _offsite(settings, found)
        return found

    fresh = {"since": stamp(1)}
    assert judged(fresh) == []  # just set up: nothing is late yet
    assert len(judged({"since": stamp(30)})) == 2  # no copy nor drill for 30 h
    ok = {"since": stamp(100), "copy_ok_at": stamp(2), "drill_ok_at": stamp(2)}
    assert judged(ok) == []
    failed = {**ok, "drill": {"at": stamp(1), "ok": False, "detail": "it restores other tables"}}
    assert judged(failed) == [f"the last off-site drill ({failed['drill']['at']}) failed: it restores other tables"]


def test_a_record_keeps_when_each_kind_last_passed(tmp_path):
    record = Record(str(tmp_path / "offsite.json"))
    record.note("copy", snapshot="abcd1234")
    record.note("copy", "the off-site copy failed (connection refused)")
    again = Record(str(tmp_path / "offsite.json")).data
    assert again["copy"]["ok"] is False and again["copy_ok_at"] and again["since"]


def test_an_alert_is_a_small_json_document_posted_and_a_lost_one_is_said(tmp_path, monkeypatch):
    received = []

    class Keep(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = http.server.HTTPServer(("127.0.0.1", 0), Keep)
    threading.Thread(target=receiver.handle_request, daemon=True).start()
    secrets = tmp_path / "release-secrets.env"
    secrets.write_text(f'ALERT_URL="http://127.0.0.1:{receiver.server_address[1]}/hook"\n')
    settings = config(tmp_path)
    monkeypatch.setattr(type(settings.paths), "program_secrets", property(lambda self: str(secrets)))

    class Say:
        said = []

        def say(self, text):
            self.said.append(text)

    alerts.alert(Say(), settings, "nightly-backup-failed", "the database backup failed (disk full)", "v1.2.0")
    assert received[0]["event"] == "nightly-backup-failed" and received[0]["app"] == "microblog"
    assert received[0]["release"] == "v1.2.0" and received[0]["message"].endswith("(disk full)") and received[0]["time"]
    secrets.write_text('ALERT_URL="http://127.0.0.1:9/hook"\n')  # nothing listens
    alerts.alert(Say(), settings, "deploy-failed", "x")
    assert Say.said == ["the alert of deploy-failed could not be sent (URLError)"]
