import os

from pyinfra.api import deploy
from pyinfra.operations import files

from core.glue.render import render
from core.plan import apps_here
from core.plan.managed import Managed
from core.settings.resolved import settings
from operations.files import folders


def record_path(s):
    return f"{apps_here.FOLDER}/{s.app_name}.json"


@deploy("The app recorded on the server")
def app_recorded():
    """Ensures root's record of what this app takes on the host (its accounts, database, host names,
    gunicorn ports: see core/plan/apps_here.py), which the deploys of the other apps there read so
    that none takes what this one has, and which keeps its ports chosen."""
    s = settings()
    parent = os.path.dirname(apps_here.FOLDER)
    folders(name=f"{apps_here.FOLDER} (root's)", modes={parent: "0755", apps_here.FOLDER: "0700"})
    files.put(
        name=f"{s.app_name} recorded: {', '.join(apps_here.record(s)['roles'])}",
        src=render("app-record.json.j2", s, record=apps_here.record(s)),
        dest=record_path(s),
        mode="0600",
    )


def manages(s):
    return Managed(paths=(os.path.dirname(apps_here.FOLDER), apps_here.FOLDER, record_path(s)), files=(record_path(s),))
