"""The release program's steps without a server: who runs each command (the build account builds,
the app user loads the app and migrates), releases built and pruned, dumps checked before use,
an interrupted run recovered, and the program itself as the deploy ships it."""

import gzip
import io
import json
import os
import subprocess
from types import SimpleNamespace

import pytest

from core.glue.program import release_program
from flask_release.build import Builder
from flask_release.cli import history_line
from flask_release.config import Config
from flask_release.database import Database
from flask_release.identity import Refused, Target
from flask_release.migrations import Migrations
from flask_release.run import Failed, Result, Runner
from flask_release.service import Service
from flask_release.state import State
from flask_release.steps import Steps
from flask_release.switch import Switch

COMMIT, OTHER = "c" * 40, "d" * 40


def config(tmp_path, **overrides):
    values = dict(
        app_name="microblog",
        app_user="nobody",
        build_user="builder",
        env_names=("SECRET_KEY", "DATABASE_URL"),
        db_name="microblog",
        flask_app="microblog.py",
        app_module="microblog:app",
        migrations="auto",
        gunicorn_requirement="gunicorn==23.0.0",
        repo_url=None,
        ref=None,
        pip_options=(),
        pip_key="pip1",
        releases_keep=2,
        backups_keep=2,
        log_dir="/var/log/microblog",
        gunicorn_host="127.0.0.1",
        gunicorn_ports=(8000, 8001),
        workers=4,
        nginx_upstream_link=None,
        static_path=None,
        site_url="https://127.0.0.1",
        health_path="/",
        health_host="localhost",
        health_check_max_status=499,
        health_check_seconds=1,
        release_lock_seconds=1,
        git_timeout_seconds=5,
        build_timeout_seconds=5,
        migrate_timeout_seconds=5,
        hooks_before_migrate=(),
        hooks_after_switch=(),
        backups_nightly_keep=2,
        roles=("app", "db", "web"),
        maintenance_link=None,
        certificate=None,
        maintenance_for_breaking_migrations=True,
        offsite=False,
        offsite_host="one",
        restic_options=(),
        offsite_paths=(),
        backup_offsite_keep=(("daily", 7),),
        drill=False,
        drill_db="microblog_drill",
    )
    values.update(overrides)
    return Config(**values)


class Recorder(Runner):
    """Runs nothing: records each command and who it would run as."""

    def __init__(self):
        super().__init__("microblog", out=io.StringIO())
        self.commands = []

    def run(self, argv, *, what, timeout, user=None, **kwargs):
        self.commands.append((user or "root", list(argv)))
        return Result(1 if argv[0] == "test" else 0, b"Flask==3\n", b"")  # no folder is there


def builder(tmp_path, state=None):
    state = state or State(str(tmp_path / "state.json"))
    runner = Recorder()
    return Builder(runner, source=None, state=state, config=config(tmp_path)), runner, state


def test_the_release_of_a_tag_is_built_once_and_a_moved_tag_is_refused(tmp_path):
    build, _, state = builder(tmp_path)
    target = Target("v1.0.0", "v1.0.0", COMMIT, True)
    assert build.release_for(target) == ("v1.0.0", False)
    state["releases"]["v1.0.0"] = {"name": "v1.0.0", "commit": COMMIT, "pip_key": "pip1", "venv": "k1"}
    assert build.release_for(target) == ("v1.0.0", True)
    with pytest.raises(Refused, match="immutable"):
        build.release_for(Target("v1.0.0", "v1.0.0", OTHER, True))


def test_other_pip_settings_build_the_same_commit_as_a_release_of_its_own(tmp_path):
    build, _, state = builder(tmp_path)
    state["releases"]["v1.0.0"] = {"name": "v1.0.0", "commit": COMMIT, "pip_key": "old", "venv": "k1"}
    assert build.release_for(Target("v1.0.0", "v1.0.0", COMMIT, True)) == ("v1.0.0~2", False)


def test_a_folder_root_has_no_record_of_is_never_removed_or_rebuilt(tmp_path):
    build, runner, _ = builder(tmp_path)
    runner.run = lambda argv, **kwargs: Result(
        0 if argv[:2] == ["test", "-e"] and argv[2].endswith("/v1.0.0") else 1, b"", b""
    )
    assert build.release_for(Target("v1.0.0", "v1.0.0", COMMIT, True)) == ("v1.0.0~2", False)


def test_pruning_keeps_the_last_releases_that_served_and_removes_as_the_build_account(tmp_path):
    build, runner, state = builder(tmp_path)
    for number, venv in ((1, "k1"), (2, "k1"), (3, "k2"), (4, "k3")):
        release = f"v{number}"
        state["releases"][release] = {"name": release, "commit": COMMIT, "pip_key": "pip1", "venv": venv}
        state["venvs"][venv] = {}
        state.record_deploy(release, None, "ops")
    build.prune()
    assert sorted(state["releases"]) == ["v3", "v4"] and sorted(state["venvs"]) == ["k2", "k3"]
    assert runner.commands == [
        ("builder", ["rm", "-rf", "--", "/srv/microblog/releases/v1"]),
        ("builder", ["rm", "-rf", "--", "/srv/microblog/releases/v2"]),
        ("builder", ["rm", "-rf", "--", "/srv/microblog/venvs/k1"]),
    ]


def test_the_build_account_builds_and_the_app_user_loads_the_app(tmp_path):
    build, runner, _ = builder(tmp_path)

    class Source:
        def export(self, commit, folder):
            runner.commands.append(("builder", ["export", commit, folder]))

    build.source = Source()
    release = build.build(Target("v1.0.0", "v1.0.0", COMMIT, True))
    build.check_imports(release)
    users = {user for user, argv in runner.commands[:-1]}
    assert users == {"builder"} and runner.commands[-1][0] == "nobody"
    assert runner.commands[-1][1][:2] == [build.paths.program, "app-exec"]  # with the app's settings
    assert not [argv for _, argv in runner.commands if "/home/nobody" in " ".join(argv)]


@pytest.mark.parametrize(
    ("setting", "has_env_py", "migrated", "said"),
    [
        ("auto", True, True, None),
        ("auto", False, False, "v1 has no migrations/env.py (migrations = auto): the schema stays as it is"),
        ("on", False, True, None),
        ("off", True, False, "migrations = off: the schema stays as it is"),
    ],
)
def test_a_release_is_migrated_when_it_has_migrations_or_the_setting_says(
    tmp_path, setting, has_env_py, migrated, said
):
    runner = Recorder()
    runner.run = lambda argv, **kwargs: (
        runner.commands.append(list(argv)) or Result(0 if has_env_py or argv[0] != "test" else 1, b"", b"")
    )
    settings = config(tmp_path, migrations=setting)
    build = Builder(runner, source=None, state=State(str(tmp_path / "state.json")), config=settings)
    Migrations(runner, database=None, builder=build, config=settings).upgrade("v1")
    upgrade = [
        build.paths.program,
        "app-exec",
        f"{build.folder('v1')}/venv/bin/python3",
        "-m",
        "flask",
        "db",
        "upgrade",
    ]
    assert [command for command in runner.commands if "flask" in command] == ([upgrade] if migrated else [])
    assert (said or "") in runner.out.getvalue()


def dump_file(path, text):
    with gzip.open(path, "wb") as handle:
        handle.write(text)


def test_a_dump_is_usable_only_when_whole_unchanged_and_complete(tmp_path):
    database = Database(Recorder(), State(str(tmp_path / "state.json")), config(tmp_path))
    good = tmp_path / "good.sql.gz"
    dump_file(good, b"CREATE TABLE t (id int);\n-- Dump completed on 2026-11-26\n")
    import hashlib

    record = {"path": str(good), "sha256": hashlib.sha256(good.read_bytes()).hexdigest(), "size": 0}
    assert database.unusable(record) is None
    good.write_bytes(good.read_bytes()[:20])  # truncated after it was taken
    assert "changed or truncated" in database.unusable(record)
    os.unlink(good)
    assert database.unusable(record) == "missing"
    unfinished = tmp_path / "unfinished.sql.gz"
    dump_file(unfinished, b"CREATE TABLE t (id int);\n")
    record = {"path": str(unfinished), "sha256": hashlib.sha256(unfinished.read_bytes()).hexdigest()}
    assert database.unusable(record) == "incomplete (no end marker)"


def test_rotation_keeps_the_newest_dumps_by_number_and_always_the_one_just_taken(tmp_path, monkeypatch):
    database = Database(Recorder(), State(str(tmp_path / "state.json")), config(tmp_path, backups_keep=1))
    monkeypatch.setattr(type(database.paths), "backup_dir", property(lambda self: str(tmp_path)))
    for name in ("000001-20990101T000000Z-v1.sql.gz", "000002-19700101T000000Z-v2.sql.gz", "notes.txt"):
        (tmp_path / name).write_text("x")
    database.rotate(keep=str(tmp_path / "000001-20990101T000000Z-v1.sql.gz"))
    assert sorted(os.listdir(tmp_path)) == [
        "000001-20990101T000000Z-v1.sql.gz",
        "000002-19700101T000000Z-v2.sql.gz",
        "notes.txt",
    ]
    database.rotate(keep=str(tmp_path / "000002-19700101T000000Z-v2.sql.gz"))  # the clock stepped back: no matter
    assert sorted(os.listdir(tmp_path)) == ["000002-19700101T000000Z-v2.sql.gz", "notes.txt"]


def test_nightly_dumps_are_kept_by_a_count_of_their_own(tmp_path, monkeypatch):
    database = Database(Recorder(), State(str(tmp_path / "state.json")), config(tmp_path, backups_keep=1))
    monkeypatch.setattr(type(database.paths), "backup_dir", property(lambda self: str(tmp_path)))
    labels = ("nightly", "v1", "nightly", "backup", "nightly", "v2")
    names = [f"00000{number}-20990101T00000{number}Z-{label}.sql.gz" for number, label in enumerate(labels, 1)]
    for name in names:
        (tmp_path / name).write_text("x")
    database.rotate(keep=str(tmp_path / names[-1]))  # backups_nightly_keep is 2
    assert sorted(os.listdir(tmp_path)) == [names[2], names[4], names[5]]
    assert database.dumps() == [names[2], names[4], names[5]]


def test_the_history_says_who_did_what_when_and_how_long_it_took():
    deploy = {"event": "deploy", "release": "v2", "commit": "c" * 40, "at": "2026-11-26T10:00:00Z", "by": "ann@laptop"}
    assert history_line({**deploy, "seconds": {"total": 4.2}}) == (
        "2026-11-26T10:00:00Z ann@laptop: deployed v2 in 4.2 s (commit cccccccccccc)"
    )
    failed = {"event": "failed", "command": "deploy", "release": "v3", "at": "x", "by": "ann@laptop"}
    assert history_line({**failed, "seconds": {"total": 1.0}, "detail": "v3 failed: why"}) == (
        "x ann@laptop: FAILED deploy of v3 in 1.0 s: v3 failed: why"
    )
    state = State("/nonexistent/state.json")
    state["releases"] = {"v1": {"name": "v1", "commit": "a" * 40}}
    state.record_deploy("v1", "0001", "ann@laptop", {"total": 3.0})
    state.record_failure("deploy", "v2", "bob@desk", "v2 failed: why", {"total": 2.0})
    state.record_restore("000003-x-backup.sql.gz", "0001", "bob@desk")
    assert [entry["event"] for entry in state["history"]] == ["deploy", "failed", "restore"]
    assert state.previous() is None and state.serving == "v1" and state.kept(5) == {"v1"}


def steps_with(tmp_path, journal):
    state = State(str(tmp_path / "state.json"))
    state["journal"] = journal
    state["pending"] = {"release": "v2", "previous": "v1"}
    steps = Steps(config(tmp_path), Recorder(), state, "ops")
    steps.calls = []
    steps.migrations.undo = lambda *args: steps.calls.append(("undo", args))
    steps.go_back = lambda *args: steps.calls.append(("go_back", args))
    steps.rollback = lambda **kwargs: steps.calls.append(("rollback", kwargs))
    return steps, state


def test_an_interrupted_migration_is_undone_before_anything_else(tmp_path):
    before = {"revision": "0001", "tables": {"post": "f1"}}
    steps, state = steps_with(
        tmp_path,
        {"step": "migrate", "at": "now", "release": "v2", "previous": "v1", "before": before, "dump": {"path": "/d"}},
    )
    steps.recover()
    assert steps.calls == [("undo", ("v2", before, {"path": "/d"}, "v1"))]
    assert State(state.path)["journal"] is None and State(state.path)["pending"] is None


def test_an_interrupted_switch_goes_back_and_an_interrupted_rollback_is_done_again(tmp_path):
    steps, state = steps_with(
        tmp_path, {"step": "switch", "at": "now", "release": "v2", "previous": "v1", "undo": None}
    )
    steps.recover()
    assert steps.calls == [("go_back", ("v2", "v1", None))] and State(state.path)["journal"] is None
    steps, state = steps_with(
        tmp_path, {"step": "rollback", "at": "now", "release": "v1", "left": "v2", "database": True}
    )
    steps.recover()
    assert steps.calls == [("rollback", {"database": True})]


def test_status_is_json_the_deploy_reads(tmp_path):
    settings = tmp_path / "release.json"
    settings.write_text(json.dumps({**vars(config(tmp_path)), "pip_options": []}))
    state = State(str(tmp_path / "state.json"))
    state["releases"]["v1"] = {"name": "v1", "commit": COMMIT, "pip_key": "pip1", "venv": "k1"}
    state.record_deploy("v1", "0001", "ops")
    state.save()
    program = tmp_path / "microblog-release"
    program.write_bytes(release_program())
    program.chmod(0o755)
    env = dict(os.environ, PYTHONPATH="")
    code = (
        "import sys, flask_release.config as c; c.Paths.state_dir = property(lambda self: sys.argv[1]); "
        "from flask_release.cli import main; sys.exit(main(['--config', sys.argv[2], 'status', '--json']))"
    )
    output = subprocess.run(
        ["python3", "-c", code, str(tmp_path), str(settings)],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(program)},
        check=True,
    ).stdout
    status = json.loads(output)
    assert status["serving"] == "v1" and status["release"]["commit"] == COMMIT and status["previous"] is None


def test_the_shipped_program_is_the_same_bytes_every_time_and_runs():
    program = release_program()
    assert program == release_program() and program.startswith(b"#!/usr/bin/python3 -I\n")


class FakeService:
    """The gunicorn colors as the switch drives them: records the calls, answers health as told."""

    def __init__(self, healthy, workers=4):
        self.healthy, self.calls = healthy, []
        self.config = config(None, workers=workers)

    fewer_workers = Service.fewer_workers

    def health(self, **kwargs):
        return self.healthy, "HTTP 200" if self.healthy else "HTTP 500"

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, *args))


@pytest.mark.parametrize("healthy", [True, False])
def test_the_live_color_runs_half_its_workers_during_a_switch_and_gets_them_back_when_none_happens(tmp_path, healthy):
    state = State(str(tmp_path / "state.json"))
    state["live"], state["serving"] = "blue", "v1"
    service = FakeService(healthy)
    paths = SimpleNamespace(app_dir=str(tmp_path), slots=str(tmp_path / "slots"))  # root's links, made here
    switch = Switch(Recorder(), state, builder(tmp_path, state)[0], service, paths)
    assert switch.serve("v2")[0] is healthy
    assert ("shrink", "blue", 2) in service.calls  # 4 workers: 2 stop while green starts
    assert (("grow", "blue", 2) in service.calls) is not healthy  # no switch happened: given back
    assert State(state.path)["shrunk"] == 0 and State(state.path)["live"] == ("green" if healthy else "blue")
    assert os.readlink(tmp_path / "slots" / "green") == "../releases/v2"
    assert os.readlink(tmp_path / "current") == "releases/v2" if healthy else not (tmp_path / "current").exists()
    # one worker is kept; gunicorn's master takes at most 5 signals at once
    assert [FakeService(True, workers).fewer_workers() for workers in (1, 2, 3, 4, 16)] == [0, 1, 2, 2, 4]


def test_a_dump_that_cannot_be_written_fails_saying_why_and_leaves_no_file(tmp_path, monkeypatch):
    database = Database(Recorder(), State(str(tmp_path / "state.json")), config(tmp_path))
    monkeypatch.setattr(type(database.paths), "backup_dir", property(lambda self: str(tmp_path / "backups")))
    (tmp_path / "backups").mkdir()
    monkeypatch.setattr(
        database, "client", lambda program: ["sh", "-c", "yes 'INSERT INTO t VALUES (1);' | head -c 200000"]
    )

    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gzip.GzipFile, "write", full)
    with pytest.raises(Failed, match=r"the database backup to .*-v1\.sql\.gz failed \(No space left on device\)"):
        database.dump("v1")
    assert os.listdir(tmp_path / "backups") == []
