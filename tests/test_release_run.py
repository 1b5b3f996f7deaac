"""How the release program runs commands: as the app user with nothing of root's, bounded by a
timeout that stops all they started, relayed and logged, going on when the deploy went away."""

import io
import os
import subprocess
import time

import pytest

from flask_release.run import Failed, Runner


def test_commands_as_the_app_user_get_its_identity_and_nothing_of_root_s(tmp_path):
    runner = Runner("microblog", "nobody", out=io.StringIO())
    os.environ["ROOT_ONLY_SECRET"] = "x"
    try:
        output = runner.run(
            ["sh", "-c", "id -un; pwd; env"], what="id", timeout=10, as_app=True, cwd="/tmp", capture=True
        ).out.decode()
    finally:
        del os.environ["ROOT_ONLY_SECRET"]
    lines = output.splitlines()
    assert lines[0] == "nobody" and lines[1] == "/tmp"
    assert "ROOT_ONLY_SECRET=x" not in lines and "HOME=/nonexistent" in lines


def test_a_command_that_hangs_is_stopped_with_all_it_started(tmp_path):
    runner = Runner("microblog", "nobody", out=io.StringIO())
    started = time.monotonic()
    with pytest.raises(Failed, match="pip install did not finish within 1 s"):
        runner.run(["sh", "-c", "sleep 30 & sleep 30"], what="pip install", timeout=1)
    assert time.monotonic() - started < 10
    assert "sleep 30" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_output_is_relayed_and_logged_and_a_failure_says_what_failed(tmp_path):
    out = io.StringIO()
    runner = Runner("microblog", "nobody", log_path=str(tmp_path / "release.log"), out=out)
    with pytest.raises(Failed, match="flask db upgrade failed"):
        runner.run(["sh", "-c", "echo migrating; exit 3"], what="flask db upgrade", timeout=10)
    assert "migrating" in out.getvalue() and "migrating" in (tmp_path / "release.log").read_text()


def test_a_lost_deploy_does_not_stop_the_release(tmp_path):
    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError

    runner = Runner("microblog", "nobody", log_path=str(tmp_path / "release.log"), out=Gone())
    runner.say("still going")
    assert runner.run(["true"], what="true", timeout=5).code == 0
    assert "still going" in (tmp_path / "release.log").read_text()
