import io

from pyinfra.api import deploy
from pyinfra.operations import files

from core.glue.program import release_program
from core.plan.managed import Managed
from core.settings.program_config import program_config
from core.settings.resolved import settings
from operations.files import folders


@deploy("Release program")
def release_program_installed():
    """Ensures the release program (flask_release, one executable file) and its settings on every
    host (the release's steps on app hosts, maintenance on web hosts, `report` on all), with root's
    folders it keeps its state, settings and backups in."""
    s = settings()
    paths = s.paths
    root_folders = {paths.state_dir: "0700", paths.config_dir: "0755", paths.backup_dir: "0700"}
    folders(name=f"{', '.join(root_folders)} (root's)", modes=root_folders, user="root", group="root")
    files.put(name=f"{paths.program}", src=io.BytesIO(release_program()), dest=paths.program, mode="0755")
    config = io.StringIO(program_config(s))
    files.put(name=f"{paths.release_config}", src=config, dest=paths.release_config, mode="0644")


def manages(s):
    p = s.paths
    return Managed(
        paths=(p.state_dir, p.config_dir, p.backup_dir, p.program, p.release_config),
        files=(p.program, p.release_config),
    )
