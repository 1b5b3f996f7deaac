import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, server, systemd

from tasks.common import release, render, settings
from tasks.layout import layout


@deploy("Gunicorn under supervisor")
def app_server(reload=False):
    """Ensures supervisor keeps gunicorn of the `current` release running as the app user on
    `bind`, with `workers` workers and logs in `log_dir`, rotated weekly. A changed program restarts it; `reload`
    (changed settings) reloads it gracefully. The first start is the release script's."""
    s = settings()
    files.directory(name=f"Log folder {s.log_dir}", path=s.log_dir, user=s.app_user, group="adm",
                    mode="0750")
    files.put(name=f"logrotate rotates {s.log_dir}", src=render("logrotate.j2"), dest=f"/etc/logrotate.d/{s.app_name}",
              mode="0644")
    systemd.service(name="supervisor is running and enabled", service="supervisor", running=True,
                    enabled=True)
    current = layout()
    # Behind web hosts elsewhere, their X-Forwarded-* headers are the ones to believe.
    proxies = ",".join(current.address(name) for name in current.web) if current.serves_other_hosts(host.name) else ""
    program = files.put(name=f"supervisor program {s.app_name}",
                        src=render("supervisor.conf.j2", forwarded_allow_ips=proxies),
                        dest=f"/etc/supervisor/conf.d/{s.app_name}.conf", mode="0644")
    app = shlex.quote(s.app_name)
    if not release().serving:
        return  # nothing to run yet
    if program.will_change:
        # update restarts the program because its config changed
        server.shell(name="supervisor restarts the changed program",
                     commands=[f"supervisorctl reread && supervisorctl update {app}",
                               render("wait-for-app.sh.j2").getvalue()])
    elif reload:
        server.shell(name=f"Reload {s.app_name} gracefully", commands=[f"supervisorctl signal HUP {app}"])
