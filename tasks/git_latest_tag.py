from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import files, server

from core.settings import settings
from core.source import plan
from operations.files import folders
from operations.release import ship_commits


@deploy("App source at its latest tag")
def app_source(folders=True):
    """Beyond its name, first: ensures the unprivileged app user and its folders (made as that
    user: root never works in them), unless `folders` is False (a host known to hold them). Then
    the release to deploy, `ref` or the latest tag: a local repository's commits are shipped to
    the server's repository here; a URL's are fetched by the release program, as the app user."""
    s = settings()
    if folders:
        app_folders(s)
    report_and_ship(s)


def app_folders(s):
    paths = s.paths
    server.user(  # noqa: S604 (the user's login shell, not a shell command)
        name=f"App user {s.app_user}", user=s.app_user, home=paths.home, shell="/bin/bash", create_home=True
    )
    # Debian makes homes 0700; nginx must traverse them to serve /static.
    folders(name=f"{paths.home} (0751)", modes={paths.home: "0751"})
    owned = {
        paths.app_dir: "0751",
        paths.releases: "0751",
        paths.venvs: "0750",
        paths.shared: "0750",
        paths.slots: "0751",
    }
    folders(name=f"{paths.app_dir} and its folders", modes=owned, _sudo=True, _sudo_user=s.app_user)
    if s.pip_constraints:
        files.put(name="pip constraints", src=s.pip_constraints, dest=paths.pip_constraints, mode="0644")
    else:
        files.file(name="No pip constraints", path=paths.pip_constraints, present=False)


def report_and_ship(s):
    paths = s.paths
    release = plan(host)
    if not release.changed:
        logger.info(f"{host.name}: {release.serving} serves already: nothing to update")
    else:
        change = f"{release.serving} -> {release.wanted}" if release.serving else f"{release.wanted}, the first"
        logger.info(f"{host.name}: release {change}")
    if release.local_repo:
        ship_commits(
            name=f"Commits of {release.target.name}",
            local_repo=release.local_repo,
            ref=release.target.ref,
            commit=release.target.commit,
            program=paths.program,
            bundle=paths.incoming_bundle,
            repository=paths.repo,
            user=s.app_user,
        )
