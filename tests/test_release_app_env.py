"""The release program's `app-exec` (flask_release.app_env): the app's .env read as python-dotenv
reads it, into the environment of the command it runs in its own place, the names the deploy
writes alone; never as root: started by root, it binds the port, then becomes the app user."""

import io
import os
import socket
import subprocess
import sys

import pytest
from dotenv import dotenv_values

from core.glue.render import render_text
from flask_release import app_env
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


def test_as_root_it_binds_then_becomes_the_app_user_before_reading_the_env(monkeypatch, tmp_path):
    done = []
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(SystemExit, match="as root, it needs --listen"):
        exec_with(str(tmp_path / ".env"), ["true"], (), "deploy")
    monkeypatch.setattr(app_env, "listening", lambda address: done.append(("listening", address)))
    monkeypatch.setattr(app_env, "become", lambda user: done.append(("become", user)))
    monkeypatch.setattr(app_env, "parse", lambda text: done.append(("read", text)) or {})
    monkeypatch.setattr(os, "execvp", lambda program, argv: done.append(("exec", argv)))
    (tmp_path / ".env").write_text("A=1\n")
    exec_with(str(tmp_path / ".env"), ["gunicorn"], (), "deploy", listen="127.0.0.1:8001")
    assert done == [("listening", "127.0.0.1:8001"), ("become", "deploy"), ("read", "A=1\n"), ("exec", ["gunicorn"])]
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SystemExit, match="--listen is root's"):
        exec_with(str(tmp_path / ".env"), ["true"], (), "deploy", listen="127.0.0.1:8001")


def test_a_port_another_account_holds_stops_it_naming_the_holder(monkeypatch):
    monkeypatch.setattr(app_env.sockets, "foreign_listener", lambda port: "user deploy (uid 1000): process 7 (x)")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(SystemExit, match=f"cannot listen on {address} .*: user deploy .*process 7"):
            app_env.listening(address)


def run_as_app_user(env_file, command, names=("SECRET_KEY", "DATABASE_URL", "KEPT")):
    """exec_with in a child process that believes it is not root."""
    code = (
        "import os, sys; os.geteuid = lambda: 1000; from flask_release.app_env import exec_with; "
        f"exec_with(sys.argv[1], sys.argv[2:], {tuple(names)!r}, 'deploy')"
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


def test_only_the_names_the_deploy_writes_reach_the_environment(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text('SECRET_KEY="k"\nLD_PRELOAD=/srv/microblog/shared/evil.so\nPYTHONPATH=/tmp/evil\n')
    show = "import os; e = os.environ; print(e['SECRET_KEY'], 'LD_PRELOAD' in e, e['PYTHONPATH'] == '/tmp/evil')"
    result = run_as_app_user(str(env_file), [sys.executable, "-c", show], names=("SECRET_KEY",))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["k", "False", "False"]


@pytest.mark.parametrize("taken", [False, True])  # 3 free: the socket's own descriptor is 3
def test_the_socket_is_handed_over_as_descriptor_3_kept_across_exec(taken):
    code = (
        "import os, socket, sys; from flask_release import app_env; "
        f"{'os.open(os.devnull, os.O_RDONLY)' if taken else 'pass'}; "
        "app_env.listening('127.0.0.1:0'); "
        "os.execvp(sys.executable, [sys.executable, '-c', "
        "'import socket; s = socket.socket(fileno=3); print(s.getsockname()[0], s.type == socket.SOCK_STREAM)'])"
    )
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": here}, pass_fds=(), check=False
    )
    assert result.returncode == 0 and result.stdout.split() == ["127.0.0.1", "True"], result.stderr
