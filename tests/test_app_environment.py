"""The app's settings reach its process environment (issue 17): an app that reads DATABASE_URL and
SECRET_KEY from os.environ alone, loading no .env itself, serves from MariaDB after its first
deploy; a changed setting reaches it under load with no failed request; neither secret shows in
`ps`, in any process's command line, in supervisor's config or in the deploy's output."""

import hashlib
import json
import secrets
from urllib.parse import quote

import pytest

from core.settings import environment
from testbed.client import Load, http_get
from testbed.servers import Server

pytestmark = pytest.mark.e2e

# as twelve-factor apps read their settings: no python-dotenv, no default to fall back on
ENVIRON_ONLY_CONFIG = """import os


class Config:
    SECRET_KEY = os.environ["SECRET_KEY"]
    SQLALCHEMY_DATABASE_URI = os.environ["DATABASE_URL"]
"""


@pytest.fixture(scope="module")
def environ_app(engine, state_dir, repo):
    repo.release("v2.0.0", files=[("config.py", ENVIRON_ONLY_CONFIG)])
    server = Server(state_dir, repo.path)
    yield server
    server.remove()


def seen(server):
    status, _, body = http_get(server.https_url + "/debug/settings")
    assert status == 200, body[-2000:]
    return json.loads(body)


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def kept_secrets(server):
    lines = server.sh("cat /etc/microblog/secrets.env").splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {name: value.strip('"') for name, value in values.items()}


def test_an_app_reading_os_environ_alone_serves_from_mariadb_on_its_first_deploy(environ_app):
    result = environ_app.deploy()
    assert result.returncode == 0, result.output[-5000:]
    assert "Microblog v2.0.0" in http_get(environ_app.https_url + "/")[2]
    settings = seen(environ_app)
    assert settings["database"] == "mysql" and settings["posts"] == 0  # a table read through MariaDB
    assert settings["in_environment"] == ["DATABASE_URL", "SECRET_KEY"]
    assert settings["secret_key_sha256"] == digest(kept_secrets(environ_app)["SECRET_KEY"])


def test_a_changed_setting_reaches_the_app_under_load_with_no_failed_request(environ_app):
    new_key = secrets.token_urlsafe(32) + "#%"
    with Load(environ_app.https_url + "/", rate=25) as load:
        result = environ_app.deploy(env={environment.SECRET_KEY: new_key})
    assert result.returncode == 0, result.output[-5000:]
    print(f"SECRET_KEY changed in {result.seconds:.1f}s under load: {load.summary()}")
    assert not load.failures, load.failures[:5]
    assert seen(environ_app)["secret_key_sha256"] == digest(new_key)


def test_the_secrets_show_nowhere_but_in_the_app_users_own_processes(environ_app):
    new_key = secrets.token_urlsafe(32)
    result = environ_app.deploy("-vvv", env={environment.SECRET_KEY: new_key})  # .env written, gunicorn restarted
    assert result.returncode == 0, result.output[-5000:]
    password = kept_secrets(environ_app)["DB_PASSWORD"]
    ps = environ_app.sh("ps -eo user,args")
    command_lines = environ_app.sh("for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done 2>/dev/null")
    supervisor = environ_app.sh("cat /etc/supervisor/supervisord.conf /etc/supervisor/conf.d/*.conf")
    assert "gunicorn" in ps and "gunicorn" in command_lines and "app-exec" in supervisor
    places = {"ps": ps, "cmdline": command_lines, "supervisor": supervisor, "output": result.output}
    for value in (new_key, password, quote(password, safe="")):
        for place, text in places.items():
            assert value not in text, place
    # where they are: the environment of gunicorn's processes, which only their user and root read
    master = environ_app.sh(f"supervisorctl pid {environ_app.live_program()}")
    assert environ_app.sh(f"stat -c '%U %a' /proc/{master}/environ") == "deploy 400"
    assert f"SECRET_KEY={new_key}" in environ_app.sh(f"tr '\\0' '\\n' < /proc/{master}/environ")
