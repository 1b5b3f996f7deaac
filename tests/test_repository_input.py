"""What the app's repository says is not trusted: a tag name that could reach a shell or a path
stops the deploy (whether the deploy or the server read it), and a tag moved to another commit
after its release was built is refused, the serving release kept as it was."""

import subprocess

import pytest

from testbed.servers import APP_DIR

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(deployed_server):
    return deployed_server


@pytest.mark.parametrize("bad_tag", ["v9$(touch${IFS}/tmp/pwned)", "-x"])
def test_a_latest_tag_that_could_run_commands_stops_the_deploy_naming_it(server, repo, bad_tag):
    before = server.serving()
    repo.release(f"v9-{len(bad_tag)}", tag=False)
    repo.tag(bad_tag)
    try:
        result = server.deploy()
    finally:
        repo.git("update-ref", "-d", f"refs/tags/{bad_tag}")
    assert result.returncode != 0
    assert f"latest tag {bad_tag!r} cannot name a release" in result.output and "letters, digits and" in result.output
    assert server.serving() == before and "Microblog v1.1.0" in server.page()
    assert server.sh("ls /tmp/pwned /root/pwned 2>/dev/null || true") == ""
    assert server.sh(f"ls {APP_DIR}/releases") == "v1.1.0"


def test_a_bad_latest_tag_fetched_by_the_server_is_refused_there(server, repo):
    """The same from a URL: the server fetches, the release program refuses the name."""
    before = server.serving()
    server.sh("rm -rf /srv/app.git && git clone -q --bare /dev/null /srv/app.git 2>/dev/null; true")
    subprocess.run(
        ["git", "-C", repo.path, "bundle", "create", "/tmp/trust.bundle", "--all"], check=True, capture_output=True
    )
    with open("/tmp/trust.bundle", "rb") as handle:
        server.container.put_archive("/srv", _tar("app.bundle", handle.read()))
    # a git host the build account reads (git refuses a local repository of another owner's)
    server.sh("git clone -q --bare /srv/app.bundle /srv/app.git && chown -R deploy_build /srv/app.git")
    url = ("--data", "repo=file:///srv/app.git")
    assert server.deploy(*url).returncode == 0  # v1.1.0 again, from the URL
    server.sh(
        "cd /srv/app.git && runuser -u deploy_build -- git -c user.name=t -c user.email=t@t tag -a "
        "'v9$(touch${IFS}/tmp/pwned)' -m x HEAD"
    )
    # a newer commit, so that the bad tag is the latest: made in a clone, pushed to the git host
    as_host = "runuser -u deploy_build -- git"
    server.sh(
        f"rm -rf /tmp/clone && {as_host} clone -q /srv/app.git /tmp/clone && cd /tmp/clone && "
        f"{as_host} -c user.name=t -c user.email=t@t commit -q --allow-empty -m newer && "
        f"{as_host} -c user.name=t -c user.email=t@t tag -a 'v9$(touch${{IFS}}/tmp/pwned2)' -m x && "
        f"{as_host} push -q --tags origin HEAD:refs/heads/main"
    )
    result = server.deploy(*url)
    assert result.returncode != 0
    assert "v9$(touch${IFS}/tmp/pwned2)" in result.output and "cannot name a release" in result.output
    assert server.serving() == before and server.sh("ls /tmp/pwned /tmp/pwned2 /root/pwned 2>/dev/null || true") == ""


def _tar(name, content):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_a_force_moved_serving_tag_is_refused_and_the_serving_release_kept(server, repo):
    repo.release("v1.3.0")
    assert server.deploy("--data", f"repo={repo.path}").returncode == 0
    files = server.sh(f"cd {APP_DIR}/current/ && find . -type f -not -path './venv/*' | sort | xargs sha1sum")
    repo.write("VERSION", "v1.3.0 moved\n")
    repo.commit("moved")
    repo.git("tag", "-f", "-a", "v1.3.0", "-m", "moved")
    result = server.deploy()
    assert result.returncode != 0
    assert "The tag v1.3.0 now points at" in result.output and "releases are immutable" in result.output
    assert (
        server.sh(f"readlink {APP_DIR}/current") == "releases/v1.3.0" and server.release_status()["serving"] == "v1.3.0"
    )
    assert server.sh(f"cd {APP_DIR}/current/ && find . -type f -not -path './venv/*' | sort | xargs sha1sum") == files
    assert "Microblog v1.3.0</h1>" in server.page()
