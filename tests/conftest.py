"""Fixtures for the end-to-end tests: fresh Debian containers reached over SSH on 127.0.0.1, and
the sample app's repository built for each test session."""

import os

import pytest

from testbed import repos
from testbed.servers import Server


def docker_available():
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def engine():
    if not docker_available():
        message = "No Docker engine answers: the end-to-end tests need one (`make docker`)."
        if os.environ.get("CI") == "true":
            pytest.fail(message + " In CI no end-to-end test may be skipped.")
        pytest.skip(message)


@pytest.fixture(scope="session")
def sample_repository(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("sample") / "sample-app")
    repos.build(path)
    return path


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("state"))


@pytest.fixture
def make_server(engine, state_dir, sample_repository):
    """Factory of fresh servers, removed after the test."""
    servers = []

    def make(repo=None):
        servers.append(Server(state_dir, repo or sample_repository))
        return servers[-1]

    yield make
    for server in servers:
        server.remove()


@pytest.fixture(scope="module")
def server(engine, state_dir, sample_repository):
    """One fresh server per test module."""
    instance = Server(state_dir, sample_repository)
    yield instance
    instance.remove()


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A sample app repository of the module's own, which its tests grow."""
    return repos.build(str(tmp_path_factory.mktemp("repo") / "sample-app"))


@pytest.fixture(scope="module")
def deployed_server(engine, state_dir, repo):
    """A fresh server serving the latest tag of the module's repository, one post written."""
    instance = Server(state_dir, repo.path)
    first = instance.deploy()
    assert first.returncode == 0, first.output[-5000:]
    instance.sh("mysql -e \"INSERT INTO post (body) VALUES ('written before the tests')\" microblog")
    yield instance
    instance.remove()
