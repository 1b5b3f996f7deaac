import shlex

from pyinfra.api import deploy
from pyinfra.operations import files, server, systemd

from tasks.common import as_app_user, release, render, settings


@deploy("Gunicorn under supervisor")
def app_server(restart=False):
    """Ensures supervisor keeps gunicorn running as the app user on `bind`, with `workers` workers
    and logs in `log_dir`; restarts it when `restart` (new release or settings), and waits until
    it answers before recording the release as deployed."""
    s = settings()
    files.directory(name=f"Log folder {s.log_dir}", path=s.log_dir, user=s.app_user, group="adm",
                    mode="0750")
    systemd.service(name="supervisor is running and enabled", service="supervisor", running=True,
                    enabled=True)
    program = files.put(name=f"supervisor program {s.app_name}", src=render("supervisor.conf.j2"),
                        dest=f"/etc/supervisor/conf.d/{s.app_name}.conf", mode="0644")
    app = shlex.quote(s.app_name)
    if program.will_change:
        # update (re)starts the program only when its config changed
        server.shell(name="supervisor picks up the program", commands=[f"supervisorctl reread && supervisorctl update {app}"])
    elif restart:
        server.shell(name=f"Restart {s.app_name}", commands=[f"supervisorctl restart {app}"])

    if program.will_change or restart or release().changed:
        server.shell(
            name=f"{s.app_name} answers on {s.bind}",
            commands=[render("wait-for-app.sh.j2").getvalue()],
        )
    if release().changed:
        server.shell(name="Record the deployed release",
                     commands=[as_app_user(f"cd {shlex.quote(s.app_dir)} && git rev-parse HEAD > .deployed-commit")])
