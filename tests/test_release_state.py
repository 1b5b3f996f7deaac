"""Root's record of releases (flask_release.state): the previous release, what a rollback leaves,
what is kept, atomic saves, and the lock that names who holds it."""

import os
import stat
import subprocess
import sys
import time

import pytest

from flask_release.state import Lock, LockTimeout, State


def deployed(state, *releases):
    for release in releases:
        state["releases"].setdefault(release, {"name": release, "commit": "a" * 40, "pip_key": "k", "venv": "v"})
        state.record_deploy(release, f"rev-{release}", "ops@laptop")


def test_the_previous_release_is_the_one_that_served_before(tmp_path):
    state = State(str(tmp_path / "state.json"))
    assert state.previous() is None
    deployed(state, "v1", "v2", "v3")
    assert state.serving == "v3" and state.previous()[1]["release"] == "v2"
    assert state.previous()[1]["revision"] == "rev-v2"


def test_a_rollback_goes_back_one_release_at_a_time_and_then_stops(tmp_path):
    state = State(str(tmp_path / "state.json"))
    deployed(state, "v1", "v2", "v3")
    state.record_rollback(state.previous()[0], "ops")
    assert state.serving == "v2" and state.previous()[1]["release"] == "v1"
    state.record_rollback(state.previous()[0], "ops")
    assert state.serving == "v1" and state.previous() is None
    assert [entry["event"] for entry in state["history"]][-2:] == ["rollback", "rollback"]


def test_a_release_deployed_again_counts_where_it_served_last(tmp_path):
    state = State(str(tmp_path / "state.json"))
    deployed(state, "A", "B", "A", "C")
    assert state.previous()[1]["release"] == "A"
    state.record_rollback(state.previous()[0], "ops")
    assert state.serving == "A" and state.previous()[1]["release"] == "B"


def test_a_removed_release_is_skipped_as_a_rollback_target(tmp_path):
    state = State(str(tmp_path / "state.json"))
    deployed(state, "v1", "v2", "v3")
    del state["releases"]["v2"]
    index, entry = state.previous()
    assert entry["release"] == "v1"
    state.record_rollback(index, "ops")
    assert state.serving == "v1" and state.previous() is None


def test_kept_releases_are_the_last_that_served_the_serving_and_the_pending_one(tmp_path):
    state = State(str(tmp_path / "state.json"))
    deployed(state, "v1", "v2", "v3", "v4")
    state["pending"] = {"release": "v5", "previous": "v4"}
    assert state.kept(2) == {"v4", "v3", "v5"}
    state.record_rollback(state.previous()[0], "ops")  # v4 left: no longer counts
    assert state.kept(2) == {"v3", "v2", "v5"}


def test_saves_are_atomic_private_and_never_follow_a_link(tmp_path):
    target = tmp_path / "someone-elses"
    target.write_text("keep me")
    (tmp_path / "state.json").symlink_to(target)
    state = State(str(tmp_path / "other.json"))
    state.path = str(tmp_path / "state.json")
    deployed(state, "v1")
    state.save()
    assert target.read_text() == "keep me"
    assert not os.path.islink(state.path) and stat.S_IMODE(os.stat(state.path).st_mode) == 0o600
    assert State(state.path).serving == "v1"


def test_the_lock_is_taken_and_given_back(tmp_path):
    with Lock(str(tmp_path / "lock"), seconds=1):
        pass
    with Lock(str(tmp_path / "lock"), seconds=1):
        pass


def lock_holder_process(path, command, hold_seconds=60):
    """Another process that takes the lock at `path` as the release program's `command` would."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from flask_release.state import Lock\n"
            "with Lock(sys.argv[1], 1, sys.argv[2]): print('held', flush=True); time.sleep(float(sys.argv[3]))",
            path,
            command,
            str(hold_seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_held_lock_ends_the_wait_naming_the_holder_and_since_when(tmp_path):
    path = str(tmp_path / "lock")
    holder = lock_holder_process(path, "deploy")
    try:
        started = time.monotonic()
        with pytest.raises(LockTimeout) as error, Lock(path, seconds=1, command="deploy", ahead_seconds=30):
            pass
        assert 1 <= time.monotonic() - started < 3
        message = str(error.value)
        assert f"process {holder.pid} (" in message and "running since" in message and "release_lock_seconds" in message
    finally:
        holder.kill()
        holder.wait()


def test_a_prebuild_holding_the_lock_is_waited_out_longer(tmp_path):
    path = str(tmp_path / "lock")
    holder = lock_holder_process(path, "prebuild", hold_seconds=2)
    try:
        started = time.monotonic()
        with Lock(path, seconds=1, command="deploy", ahead_seconds=30):
            assert (tmp_path / "lock").read_text() == "deploy"  # for the next one waiting to tell
        assert 2 <= time.monotonic() - started < 4
        holder = lock_holder_process(path, "prebuild")
        with pytest.raises(LockTimeout) as error, Lock(path, seconds=0, command="deploy", ahead_seconds=1):
            pass
        assert "build_timeout_seconds" in str(error.value)
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_path_that_is_a_link_is_refused(tmp_path):
    (tmp_path / "lock").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError), Lock(str(tmp_path / "lock"), seconds=1):
        pass
    assert not (tmp_path / "elsewhere").exists()
