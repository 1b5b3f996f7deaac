from pyinfra import host
from pyinfra.api import deploy

from core.settings import settings
from core.source import plan
from operations.release import start_prebuild
from tasks.release import BY, target_arguments


@deploy("Release built ahead")
def release_built_ahead():
    """Starts building the release to deploy, its code and venv, in the background when there is
    one, so that pip runs while the next tasks set up MariaDB, nginx and supervisor; the release
    step waits for it, then checks the app and switches as ever (a failed prebuild is built again
    there, where its error shows)."""
    s = settings()
    release = plan(host)
    if release.changed:
        start_prebuild(
            name=f"Build {release.wanted} in the background",
            program=s.paths.program,
            arguments=[*BY, "prebuild", *target_arguments(release)],
        )
