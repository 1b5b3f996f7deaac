import shlex

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import files, server

from core.managed import Managed
from core.settings import settings
from core.source import plan
from operations.files import folders
from operations.release import ship_commits


@deploy("App source at its latest tag")
def app_source(folders=True):
    """Beyond its name, first: ensures the two unprivileged accounts (the app user runs the app,
    the build account builds its releases) and the app's folders, unless `folders` is False (a
    host known to hold them). Then the release to deploy, `ref` or the latest tag: a local
    repository's commits are shipped to the server's repository here; a URL's are fetched by the
    release program, as the build account."""
    s = settings()
    if folders:
        app_folders(s)
    report_and_ship(s)


def app_folders(s):
    paths = s.paths
    server.user(  # noqa: S604 (the user's login shell, not a shell command)
        name=f"App user {s.app_user}", user=s.app_user, home=paths.home, shell="/bin/bash", create_home=True
    )
    server.user(  # noqa: S604
        name=f"Build account {s.build_user}",
        user=s.build_user,
        home=paths.build_home,
        shell="/usr/sbin/nologin",
        create_home=True,
    )
    folders(name=f"{paths.home}, {paths.build_home} (0700)", modes={paths.home: "0700", paths.build_home: "0700"})
    # root's folder: in it each account owns its own (made by root, in root's folder)
    folders(name=f"{paths.app_dir}, {paths.slots} (root's)", modes={paths.app_dir: "0755", paths.slots: "0755"})
    built = {paths.repo: "0750", paths.releases: "0751", paths.venvs: "0751"}
    folders(name=f"{', '.join(built)} ({s.build_user}'s)", modes=built, user=s.build_user, group=s.build_user)
    folders(name=f"{paths.shared} ({s.app_user}'s)", modes={paths.shared: "0750"}, user=s.app_user, group=s.app_user)
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
            user=s.build_user,
        )


def manages(s):
    if not s.is_app:
        return Managed()
    p = s.paths
    accounts = tuple(f"getent passwd {shlex.quote(user)}" for user in (s.app_user, s.build_user))
    # the entries of root's folder, and the accounts' homes
    return Managed(
        paths=(p.home, p.build_home, p.app_dir, p.repo, p.releases, p.venvs, p.shared, p.slots), commands=accounts
    )
