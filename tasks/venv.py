from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files

from core.glue.render import render_text
from core.plan.managed import Managed
from core.plan.source import plan
from core.settings.resolved import settings
from core.settings.secrets import app_secrets
from operations.files import secret_file
from operations.release import start_prebuild
from tasks.release import BY, target_arguments


@deploy("Venv of the release, built ahead")
def app_venv():
    """Ensures what pip reads when the release program builds a release's venv (as the build
    account, per requirements and pip settings): the pip constraints (`pip_constraints`, or the
    known-good ones of the article's repository) and root's pip.conf, which the build account's
    group reads (0640: the package index of DEPLOY_PIP_INDEX_URL, when given). Then starts
    building the release to deploy, its code and venv, in the background when there is one, so
    that pip runs while the next tasks set up MariaDB, nginx and supervisor; the release step
    waits for it, then checks the app and switches as ever (a failed prebuild is built again
    there, where its error shows)."""
    s = settings()
    paths = s.paths
    if s.pip_constraints:
        files.put(name="pip constraints", src=s.pip_constraints, dest=paths.pip_constraints, mode="0644")
    else:
        files.file(name="No pip constraints", path=paths.pip_constraints, present=False)
    secret_file(
        name=f"{paths.pip_config} (0640, root's, {s.build_user}'s group reads it)",
        dest=paths.pip_config,
        content=render_text("pip.conf.j2", s, index_url=app_secrets().pip_index_url),
        group=s.build_user,
    )
    release = plan(host)
    if release.changed:
        start_prebuild(
            name=f"Build {release.wanted} in the background",
            program=paths.program,
            arguments=[*BY, "prebuild", *target_arguments(release)],
        )


def manages(s):
    if not s.is_app:
        return Managed()
    written = (s.paths.pip_constraints, s.paths.pip_config)
    return Managed(paths=written, files=written)
