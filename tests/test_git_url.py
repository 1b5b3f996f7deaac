"""The path a real user takes first: a fresh server, the default settings, `repo` a git URL (a
git daemon in another container, serving the article-shaped sample app at
dbwebb-se/microblog.git, the article's repository's own path), then updates from the URL."""

import os
import re

import pytest

from testbed.client import Load, http_get
from testbed.git_host import GitHost
from testbed.servers import APP_DIR

pytestmark = pytest.mark.e2e
ARTICLE_PATH = "dbwebb-se/microblog"
OTHER_PATH = "someone/blog"  # the same app anywhere else: no constraints ship for it


@pytest.fixture(scope="module")
def git_host(engine, state_dir, repo):
    host = GitHost(state_dir)
    publish(host, repo)
    yield host
    host.remove()


def publish(git_host, repo):
    for path in (ARTICLE_PATH, OTHER_PATH):
        git_host.publish(repo.path, path)


def register(server):
    """The status of the sample app's registration form (a WTForms Email field, as the article's)."""
    return http_get(
        f"{server.https_url}/register",
        method="POST",
        body="email=ada%40example.org",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )[0]


def wtforms(server, release):
    return server.sh(
        f"{APP_DIR}/releases/{release}/venv/bin/python3 -c "
        "'import importlib.metadata as m; print(m.version(\"wtforms\"))'"
    )


def source(git_host, path=ARTICLE_PATH):
    return ("--data", f"repo={git_host.url(path)}")


def test_the_first_deploy_from_a_git_url_to_a_fresh_server_serves_the_article_shaped_app(server, git_host):
    result = server.deploy(*source(git_host))
    assert result.returncode == 0, result.output[-5000:]
    assert server.release_status()["serving"] == "v1.1.0" and "Microblog v1.1.0" in http_get(server.https_url + "/")[2]
    # the known-good constraints of the article's repository applied by default: its form works
    assert register(server) == 302 and wtforms(server, "v1.1.0").startswith("3.2")
    assert server.sh(f"stat -c %U {APP_DIR}/repo/HEAD") == "deploy_build"  # fetched by the build account, never root


def test_an_update_to_a_new_tag_at_the_url(server, git_host, repo):
    repo.release("v1.2.0")
    publish(git_host, repo)
    result = server.deploy(*source(git_host))
    assert result.returncode == 0, result.output[-5000:]
    assert "release v1.1.0 -> v1.2.0" in result.output
    assert server.release_status()["serving"] == "v1.2.0" and "Microblog v1.2.0" in http_get(server.https_url + "/")[2]


def test_dry_with_a_new_tag_waiting_changes_nothing_on_the_server(server, git_host, repo):
    repo.release("v1.3.0")
    publish(git_host, repo)
    refs = f"git --git-dir={APP_DIR}/repo for-each-ref; find {APP_DIR}/repo -newer {APP_DIR}/repo/HEAD | wc -l"
    releases = f"ls {APP_DIR}/releases; readlink {APP_DIR}/current"
    before = server.sh(refs, user="deploy_build"), server.sh(releases)
    result = server.deploy("--dry", *source(git_host))
    assert result.returncode == 0, result.output[-3000:]
    assert "release v1.2.0 -> the latest tag after fetching" in result.output
    assert (
        server.sh(refs, user="deploy_build"),
        server.sh(f"ls {APP_DIR}/releases; readlink {APP_DIR}/current"),
    ) == before
    assert server.deploy(*source(git_host)).returncode == 0 and server.release_status()["serving"] == "v1.3.0"


def test_a_change_of_constraints_on_a_serving_server_is_rolled_out_without_a_failed_request(server, git_host, tmp_path):
    # The same repository elsewhere gets no constraints: WTForms 3.3 comes in, and the form breaks.
    unconstrained = server.deploy(*source(git_host, OTHER_PATH))
    assert unconstrained.returncode == 0, unconstrained.output[-3000:]
    assert server.release_status()["serving"] == "v1.3.0~2" and wtforms(server, "v1.3.0~2").startswith("3.3")
    assert register(server) == 500
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("WTForms<3.3\n")
    with Load(server.https_url + "/", rate=20) as load:
        constrained = server.deploy(*source(git_host, OTHER_PATH), "--data", f"pip_constraints={constraints}")
    assert constrained.returncode == 0, constrained.output[-3000:]
    print(f"constraints change under load: {load.summary()}")
    assert load.failures == [], load.failures[:5]
    assert server.release_status()["serving"] == "v1.3.0~3" and register(server) == 302
    again = server.deploy("--json", *source(git_host, OTHER_PATH), "--data", f"pip_constraints={constraints}")
    assert again.returncode == 0 and server.release_status()["serving"] == "v1.3.0~3"


def test_a_deleted_latest_tag_is_refused_unless_pinned(server, git_host, repo):
    serving = server.release_status()["serving"]
    repo.git("tag", "-d", "v1.3.0")
    publish(git_host, repo)
    result = server.deploy(*source(git_host))
    assert result.returncode != 0
    assert "The latest tag v1.2.0 is older than v1.3.0, which serves" in result.output
    assert "set ref=v1.2.0" in result.output and server.release_status()["serving"] == serving
    pinned = server.deploy(*source(git_host), "--data", "ref=v1.2.0")
    assert pinned.returncode == 0, pinned.output[-3000:]
    assert server.release_status()["serving"] == "v1.2.0"
    assert re.search(r"Microblog v1\.2\.0", http_get(server.https_url + "/")[2])
    assert os.path.basename(server.sh(f"readlink {APP_DIR}/current")) == "v1.2.0"
