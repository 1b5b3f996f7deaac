"""How the release program runs commands: as another account with nothing of root's, bounded by a
timeout that stops all they started, relayed (made safe for a terminal) and logged, going on when
the deploy went away."""

import io
import os
import subprocess
import time

import pytest

from flask_release.run import Failed, Runner


def test_commands_as_the_app_user_get_its_identity_and_nothing_of_root_s(tmp_path):
    runner = Runner("microblog", out=io.StringIO())
    os.environ["ROOT_ONLY_SECRET"] = "x"
    try:
        output = runner.run(
            ["sh", "-c", "id -un; pwd; env; umask"], what="id", timeout=10, user="nobody", cwd="/tmp", capture=True
        ).out.decode()
    finally:
        del os.environ["ROOT_ONLY_SECRET"]
    lines = output.splitlines()
    assert lines[0] == "nobody" and lines[1] == "/tmp"
    assert "ROOT_ONLY_SECRET=x" not in lines and "HOME=/nonexistent" in lines
    assert lines[-1] == "0022"  # what it makes, others may read (a release, for the app user and nginx)


def test_a_command_that_hangs_is_stopped_with_all_it_started(tmp_path):
    runner = Runner("microblog", out=io.StringIO())
    started = time.monotonic()
    with pytest.raises(Failed, match="pip install did not finish within 1 s"):
        runner.run(["sh", "-c", "sleep 30 & sleep 30"], what="pip install", timeout=1)
    assert time.monotonic() - started < 10
    assert "sleep 30" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_output_is_relayed_and_logged_and_a_failure_says_what_failed(tmp_path):
    out = io.StringIO()
    runner = Runner("microblog", log_path=str(tmp_path / "release.log"), out=out)
    with pytest.raises(Failed, match="flask db upgrade failed"):
        runner.run(["sh", "-c", "echo migrating; exit 3"], what="flask db upgrade", timeout=10)
    assert "migrating" in out.getvalue() and "migrating" in (tmp_path / "release.log").read_text()


def test_a_lost_deploy_does_not_stop_the_release(tmp_path):
    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError

    runner = Runner("microblog", log_path=str(tmp_path / "release.log"), out=Gone())
    runner.say("still going")
    assert runner.run(["true"], what="true", timeout=5).code == 0
    assert "still going" in (tmp_path / "release.log").read_text()


def test_what_commands_print_reaches_the_terminal_with_its_control_characters_shown(tmp_path):
    out = io.StringIO()
    runner = Runner("microblog", log_path=str(tmp_path / "release.log"), out=out)
    title, clear = "\x1b]0;owned\x07", "\x1b[2J"
    with pytest.raises(Failed) as error:
        runner.run(
            ["sh", "-c", f"printf '{title}{clear}\\r\\342\\200\\256bad\\n'; printf '{title}' >&2; exit 1"],
            what="x",
            timeout=10,
        )
    runner.run(["sh", "-c", f"printf 'tab\\tkept\\n{clear}'"], what="y", timeout=10)
    with pytest.raises(Failed) as captured:
        runner.run(["sh", "-c", f"printf '{title}' >&2; exit 1"], what="z", timeout=10, capture=True)
    for text in (out.getvalue(), (tmp_path / "release.log").read_text(), str(error.value), str(captured.value)):
        assert "\x1b" not in text and "\x07" not in text and "\r" not in text and "\u202e" not in text
    assert "\\x1b]0;owned\\x07" in out.getvalue() and "\\u202ebad" in out.getvalue()
    assert "tab\tkept\n" in out.getvalue() and "\\x1b]0;owned\\x07" in str(captured.value)
