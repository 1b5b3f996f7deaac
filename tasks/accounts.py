import shlex

from pyinfra.api import deploy
from pyinfra.operations import server

from core.plan.managed import Managed
from core.settings.resolved import settings
from operations.files import folders


@deploy("App user, build account and folders")
def app_accounts():
    """Ensures the two unprivileged accounts, the app user (runs the app) and the build account
    (fetches and builds its releases), their homes (0700), and the app's folders in root's
    /srv/<app_name>: the repository, releases and venvs (the build account's), the shared folder
    (the app user's) and the colors' slots (root's)."""
    s = settings()
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


def manages(s):
    if not s.is_app:
        return Managed()
    p = s.paths
    accounts = tuple(f"getent passwd {shlex.quote(user)}" for user in (s.app_user, s.build_user))
    # the entries of root's folder, and the accounts' homes
    return Managed(
        paths=(p.home, p.build_home, p.app_dir, p.repo, p.releases, p.venvs, p.shared, p.slots), commands=accounts
    )
