from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import files, server

from tasks.common import fetch_commits, release, settings, ship_commits


@deploy("App source at its latest tag")
def app_source():
    """Ensures the unprivileged app user, its folders, and a bare repository holding the release
    to deploy: `ref`, or the latest tag when `ref` is unset. `repo` is a URL the server fetches, or
    a path here whose commits the deploy ships."""
    s = settings()
    server.user(name=f"App user {s.app_user}", user=s.app_user, home=s.home, shell="/bin/bash",
                create_home=True)
    # Debian makes homes 0700; nginx must traverse them to serve /static.
    for path, mode in ((s.home, "0751"), (s.app_dir, "0751"), (f"{s.app_dir}/releases", "0751"),
                       (f"{s.app_dir}/venvs", "0750"), (f"{s.app_dir}/shared", "0750")):
        files.directory(name=f"{path} ({mode})", path=path, user=s.app_user, group=s.app_user, mode=mode)

    target = release()
    wanted = target.name or host.data.get("ref") or "the latest tag"
    if not target.changed:
        logger.info(f"{host.name}: {target.serving} serves already: nothing to update")
    else:
        logger.info(f"{host.name}: release {target.serving or 'none'} -> {wanted}")
    if target.local_repo:
        ship_commits(name=f"Commits of {wanted}", local_repo=target.local_repo, ref=target.name,
                     commit=target.commit, dest=s.repo_dir, user=s.app_user)
    else:
        fetch_commits(name=f"Commits of {host.data.repo}", src=host.data.repo, commit=target.commit,
                      dest=s.repo_dir, user=s.app_user)
