"""Any Flask app, not only the article's shape (issue 16): an app factory in a package, no
database migrations, no gunicorn in its dependencies, pyproject.toml alone (`pip install .`), one
more plain setting and one more secret, its settings read from the process environment; deployed,
updated and rolled back with no failed request. A release whose requires-python the server's
Python does not meet is refused before anything changes."""

import json
import secrets

import pytest

from testbed import repos
from testbed.client import Load, http_get
from testbed.servers import APP_DIR, Server

pytestmark = pytest.mark.e2e

SETTINGS = (
    "--data",
    "app_module=hello:create_app()",
    "--data",
    "flask_app=wsgi.py",
    "--data",
    'app_env={"GREETING": "Hello from app_env"}',
    "--data",
    "app_secrets=API_TOKEN",
)
TOKEN = "t0ken-" + secrets.token_urlsafe(16)
UNMET_PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "hello"
version = "0.3.0"
requires-python = ">=3.99"
dependencies = ["Flask>=3"]

[tool.setuptools]
packages = ["hello"]
"""


@pytest.fixture(scope="module")
def hello(engine, state_dir, tmp_path_factory):
    repo = repos.build(str(tmp_path_factory.mktemp("hello") / "hello-app"), repos.HELLO)
    server = Server(state_dir, repo.path)
    yield server, repo
    server.remove()


def page(server, path="/"):
    status, _, body = http_get(server.https_url + path)
    assert status == 200, body[-2000:]
    return body


def diagnose(server, load):
    if load.failures:  # what nginx, gunicorn and the release said meanwhile
        logs = "/var/log/microblog/error.log /var/log/nginx/error.log /var/lib/microblog/release.log"
        print(server.sh(f"tail -n 30 {logs}"))


def release_log(server):
    return server.sh("cat /var/lib/microblog/release.log")


def test_first_deploy_of_a_factory_app_with_no_migrations_nor_gunicorn(hello):
    server, _ = hello
    result = server.deploy(*SETTINGS, env={"API_TOKEN": TOKEN})
    assert result.returncode == 0, result.output[-5000:]
    assert "release v1.1.0, the first" in result.output
    assert "Failed to load host keys" not in result.output
    assert page(server) == "Hello v1.1.0"
    assert json.loads(page(server, "/settings")) == {"greeting": "Hello from app_env", "api_token": True}
    log = release_log(server)
    assert "installing pyproject.toml into venvs/" in log
    assert "pyproject.toml has no gunicorn: installing gunicorn==23.0.0" in log
    assert "v1.1.0 has no migrations/env.py (migrations = auto): the schema stays as it is" in log
    assert "v1.1.0 serves: the first release" in log
    assert server.sh(f"{APP_DIR}/current/venv/bin/python3 -m gunicorn --version").endswith("23.0.0)")
    assert TOKEN not in result.output
    assert server.sh(f"grep -c API_TOKEN= {APP_DIR}/shared/.env /etc/microblog/secrets.env") == (
        f"{APP_DIR}/shared/.env:1\n/etc/microblog/secrets.env:1"
    )


def test_an_update_and_a_rollback_under_load_fail_no_request(hello):
    server, repo = hello
    repo.release("v1.2.0")
    url = f"https://127.0.0.1:{server.https_port}/"
    with Load(url, rate=25) as load:
        result = server.deploy(*SETTINGS)  # API_TOKEN no longer given: the server keeps it
    assert result.returncode == 0, result.output[-5000:]
    print(f"update v1.1.0 -> v1.2.0 in {result.seconds:.1f}s under load: {load.summary()}")
    diagnose(server, load)
    assert not load.failures, load.failures[:5]
    assert page(server) == "Hello v1.2.0"
    assert json.loads(page(server, "/settings"))["api_token"] is True
    with Load(url, rate=25) as load:
        result = server.deploy(*SETTINGS, deploy_file="rollback.py")
    assert result.returncode == 0, result.output[-5000:]
    print(f"rollback v1.2.0 -> v1.1.0 in {result.seconds:.1f}s under load: {load.summary()}")
    diagnose(server, load)
    assert not load.failures, load.failures[:5]
    assert page(server) == "Hello v1.1.0"


def test_a_release_the_servers_python_cannot_run_is_refused_before_any_change(hello):
    server, repo = hello
    repo.release("v1.3.0", files=[("pyproject.toml", UNMET_PYPROJECT)])
    snapshot = f"ls -lR --time-style=full-iso {APP_DIR} /etc /var/lib/microblog | md5sum"
    before = server.sh(snapshot)
    python = server.sh("python3 -c 'import platform; print(platform.python_version())'")
    result = server.deploy(*SETTINGS)
    assert result.returncode != 0
    assert (
        f"v1.3.0 requires Python >=3.99 (requires-python in its pyproject.toml), and the server's is {python}: "
        "deploy a release that runs on it (`ref`), or to a server whose Python meets it. Nothing was changed."
    ) in result.output, result.output[-3000:]
    assert server.sh(snapshot) == before
    assert page(server) == "Hello v1.1.0"


def test_a_secret_app_secrets_names_must_be_given_once(engine, state_dir, tmp_path_factory):
    """With no API_TOKEN anywhere (nor kept on a fresh server), the deploy stops before any change."""
    repo = repos.build(str(tmp_path_factory.mktemp("hello2") / "hello-app"), repos.HELLO)
    server = Server(state_dir, repo.path)
    try:
        result = server.deploy(*SETTINGS)
        assert result.returncode != 0
        assert "API_TOKEN (in app_secrets) is set neither in this machine's environment" in result.output
        assert server.sh("dpkg -s nginx", check=False).count("not installed")
    finally:
        server.remove()
