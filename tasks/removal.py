import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Users
from pyinfra.operations import mysql, server, systemd
from pyinfra.operations.util import any_changed

from core.plan import apps_here
from core.plan.converged import managed
from core.plan.tls import app_certificate
from core.settings.resolved import settings
from facts.files import Folders
from facts.host import AppsHere
from operations.files import absent
from operations.mariadb import account
from tasks.nginx import CATCH_ALL, catch_all_of, catch_all_site, site_paths

# Every app's, whichever app named them: never removed with one.
SHARED = ("/var/www/acme", apps_here.FOLDER, *CATCH_ALL)


def own_paths(s):
    """What the tasks manage on this host (their `manages`) that is this app's alone: each path named
    for the app (a folder, or a file called <app>.*, <app>-*: its logs by default) and the
    accounts' homes; its dumps only with `remove_data`. A folder set to one not named for the app
    (`log_dir` = "/var/log") may hold others' files: it stays. The folders only, not what is in them."""
    found = managed(s)
    named = [
        path
        for path in (*found.paths, *found.files)
        if path not in SHARED
        and any(part == s.app_name or part.startswith((f"{s.app_name}.", f"{s.app_name}-")) for part in path.split("/"))
    ]
    named += [s.paths.home, s.paths.build_home, s.paths.nginx_dir, f"/etc/ssl/{s.app_name}"]
    if not s.remove_data:
        named = [path for path in named if not (path + "/").startswith(s.paths.backup_dir + "/")]
    unique = sorted(set(named))
    return [path for path in unique if not any(path.startswith(other + "/") for other in unique)]


@deploy("The app taken off the server")
def app_removed():
    """Ensures the app is gone from this host, the others on it untouched: its gunicorn programs
    stopped and removed, its nightly backup timer, its nginx site (the catch-all rewritten from
    the other apps), its certificate, its accounts and every folder and file of its own; with
    `remove_data` its database, database users and dumps too (else they stay, for a later deploy
    of the same app, which takes them as they are)."""
    s = settings()
    program = f"/etc/supervisor/conf.d/{s.app_name}.conf"
    here = host.get_fact(Folders, paths=(program, f"/etc/systemd/system/{s.app_name}-backup.timer"))
    if program in here:  # supervisor stops the programs no file names any more (stopasgroup)
        server.shell(
            name=f"supervisor stops {s.app_name}'s gunicorn",
            commands=[f"rm -f -- {shlex.quote(program)}", "supervisorctl reread", "supervisorctl update"],
        )
    timer = f"{s.app_name}-backup.timer"
    if f"/etc/systemd/system/{timer}" in here:
        systemd.service(name=f"{timer} stopped", service=timer, running=False, enabled=False)
    if s.is_web:
        available, enabled = site_paths(s)
        gone = absent(name=f"nginx site {s.app_name}", paths=[enabled, available, s.paths.nginx_dir])
        others = apps_here.others(host.get_fact(AppsHere, folder=apps_here.FOLDER), s.app_name)
        rewritten = catch_all_site(
            "nginx catch-all server of the other apps' names", catch_all_of(s, others, app_certificate)
        )
        systemd.service(name="Reload nginx", service="nginx", reloaded=True, _if=any_changed(gone, rewritten))
        if host.get_fact(Folders, paths=(f"/etc/letsencrypt/live/{s.app_name}",)):
            server.shell(
                name=f"certbot forgets {s.app_name}'s certificate",
                commands=[f"certbot delete --non-interactive --cert-name {shlex.quote(s.app_name)}"],
            )
    if s.is_app:
        users = host.get_fact(Users)
        for user in (s.app_user, s.build_user):
            if user in users:  # what supervisor did not stop (a shell, a build) goes too: userdel needs it
                server.shell(name=f"No process of {user}", commands=[f"pkill -KILL -u {shlex.quote(user)} || true"])
            server.user(name=f"No account {user}", user=user, present=False)
        server.group(name=f"No group {s.build_user}", group=s.build_user, present=False)
    if s.is_db and s.remove_data:
        drill_db, drill_user = s.drill_names
        for name in (s.db_name, drill_db):
            mysql.database(name=f"No database {name}", database=name, present=False)
        for user in (s.db_user, drill_user):
            account(name=f"No database user {user}", user=user, hosts=[], password_hash="")
    removed = absent(name=f"{s.app_name}'s folders and files", paths=own_paths(s))
    systemd.daemon_reload(name="systemd forgets the backup timer", _if=removed.did_change)
