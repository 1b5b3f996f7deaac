from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import files, server

from tasks.common import clone_checkout, release, settings, ship_checkout


@deploy("App source at its latest tag")
def app_source():
    """Ensures the unprivileged app user and its checkout of `repo` at `ref`, or at the latest tag
    when `ref` is unset. `repo` is a URL the server clones, or a path here that the deploy ships."""
    s = settings()
    server.user(name=f"App user {s.app_user}", user=s.app_user, home=s.home, shell="/bin/bash",
                create_home=True)
    # Debian makes homes 0700; nginx must traverse it to serve /static.
    files.directory(name=f"{s.home} can be traversed by nginx", path=s.home, user=s.app_user,
                    group=s.app_user, mode="0751")
    target = release()
    if target.local_repo:
        logger.info(f"{host.name}: release {target.name} ({target.commit[:12]}) from {target.local_repo}")
        ship_checkout(name=f"Checkout at {target.name}", local_repo=target.local_repo, ref=target.name,
                      commit=target.commit, dest=s.app_dir, user=s.app_user)
    else:
        label = target.name or host.data.get("ref") or "the latest tag"
        logger.info(f"{host.name}: release {label} from {host.data.repo}")
        clone_checkout(name=f"Checkout at {label}", src=host.data.repo, ref=host.data.get("ref"),
                       commit=target.commit, dest=s.app_dir, user=s.app_user)
