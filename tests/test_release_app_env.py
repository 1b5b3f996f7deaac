"""The release program's `app-exec` (flask_release.app_env): the app's .env read as python-dotenv
reads it, into the environment of the command it runs in its own place; never as root."""

import io
import os
import subprocess
import sys

import pytest
from dotenv import dotenv_values

from core.render import render_text
from flask_release.app_env import Unreadable, exec_with, parse
from tests.helpers import settings_of

CASES = [
    "A=1\nB=two words\n",
    '# comment\nexport C="quoted # not a comment"\nD=plain # a comment\n',
    "E='single $HOME \\n kept'\nF=\nG=\"\"\n",
    'H="escaped \\" and \\\\ and \\n"\n   I = spaced   \n',
    'K="!#%&()*+,-./:;<=>?@[]^_{|}~"\n',  # every character a secret may hold
]


@pytest.mark.parametrize("text", CASES)
def test_reads_as_python_dotenv_does(text):
    assert parse(text) == dict(dotenv_values(stream=io.StringIO(text), interpolate=False))


def test_reads_the_env_the_deploy_writes():
    text = render_text(
        "env.j2", settings_of(), secret_key="k" * 40, database_url="mysql+pymysql://u:p%40w@localhost:3306/d"
    )
    assert parse(text) == {"SECRET_KEY": "k" * 40, "DATABASE_URL": "mysql+pymysql://u:p%40w@localhost:3306/d"}


@pytest.mark.parametrize("text", ['OK=1\nSECRET="no end\n', "OK=1\nnot a setting\n", "OK=1\n1X=2\n", 'X="a" b\n'])
def test_an_unreadable_line_is_named_by_number_never_shown(text):
    with pytest.raises(Unreadable) as error:
        parse(text)
    assert str(error.value).startswith("line ")
    assert "no end" not in str(error.value) and "setting" not in str(error.value)


def test_never_as_root(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(SystemExit, match="never as root"):
        exec_with(str(tmp_path / ".env"), ["true"])


def run_as_app_user(env_file, command):
    """exec_with in a child process that believes it is not root."""
    code = (
        "import os, sys; os.geteuid = lambda: 1000; from flask_release.app_env import exec_with; "
        "exec_with(sys.argv[1], sys.argv[2:])"
    )
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": here, "KEPT": "from before"}
    return subprocess.run(
        [sys.executable, "-c", code, env_file, *command], capture_output=True, text=True, env=environment, check=False
    )


def test_the_command_runs_with_the_settings_in_its_environment(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text('SECRET_KEY="s3cr#t"\nDATABASE_URL=mysql+pymysql://u:p@localhost/d\nKEPT=replaced\n')
    show = "import os; print(os.environ['SECRET_KEY'], os.environ['DATABASE_URL'], os.environ['KEPT'])"
    result = run_as_app_user(str(env_file), [sys.executable, "-c", show])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["s3cr#t", "mysql+pymysql://u:p@localhost/d", "replaced"]


def test_a_missing_or_unreadable_env_stops_the_command_naming_the_file_not_its_text(tmp_path):
    missing = run_as_app_user(str(tmp_path / ".env"), ["true"])
    assert missing.returncode == 1 and "cannot read the app's settings in" in missing.stderr
    env_file = tmp_path / ".env"
    env_file.write_text('SECRET_KEY="hidden value\n')
    broken = run_as_app_user(str(env_file), ["true"])
    assert broken.returncode == 1 and "line 1" in broken.stderr and "hidden" not in broken.stderr
