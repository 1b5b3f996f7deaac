import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, systemd

from core.glue.render import render
from core.plan.managed import Managed
from core.plan.source import plan
from core.settings.resolved import settings
from flask_release.service import COLORS
from operations.release import run_program


@deploy("Gunicorn under supervisor")
def app_server(env_file, database_started=None):
    """Ensures supervisor keeps gunicorn of the `current` release running as the app user on its
    address, with `workers` workers and logs in `log_dir`, rotated weekly. A changed program, a
    changed .env (`env_file`, its operation) or a MariaDB this deploy (re)started (when the
    condition `database_started` is true) reloads it through the release program: gracefully,
    then the health check. The first start is the release's."""
    s = settings()
    files.directory(name=f"Log folder {s.log_dir}", path=s.log_dir, user=s.app_user, group="adm", mode="0750")
    files.put(
        name=f"logrotate rotates {s.log_dir}",
        src=render("logrotate.j2", s),
        dest=f"/etc/logrotate.d/{s.app_name}",
        mode="0644",
    )
    systemd.service(name="supervisor is running and enabled", service="supervisor", running=True, enabled=True)
    program = files.put(
        name=f"supervisor program {s.app_name}",
        src=render("supervisor.conf.j2", s),
        dest=f"/etc/supervisor/conf.d/{s.app_name}.conf",
        mode="0644",
    )
    if not plan(host).serving:
        return  # nothing to run yet
    run_program(
        name=f"Reload {s.app_name} gracefully",
        program=s.paths.program,
        arguments=["reload"],
        _if=lambda: program.did_change() or env_file.did_change() or bool(database_started and database_started()),
    )


def manages(s):
    if not s.is_app:
        return Managed()
    written = (f"/etc/logrotate.d/{s.app_name}", f"/etc/supervisor/conf.d/{s.app_name}.conf")
    # the colors' states, a gunicorn still starting as a running one (its master answers before
    # supervisor's startsecs); not the boot-time program's, which runs once
    # supervisor's other programs are other apps'
    colors = "|".join(f"{s.app_name}-{color}" for color in COLORS)
    states = f'$1 ~ /^({colors})$/ {{ sub(/^STARTING$/, "RUNNING", $2); print $1, $2 }}'
    return Managed(
        paths=(s.log_dir, *written),
        files=written,
        services=("supervisor",),
        commands=("supervisorctl status | awk " + shlex.quote(states),),
    )
