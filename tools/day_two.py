"""Day-two commands over every host of the inventory (`make status`, `make logs`, ...), each run
with the release program on the host, over SSH with the inventory's settings.

Usage: python -m tools.day_two COMMAND [options]; `make help` lists the targets."""

import argparse
import concurrent.futures
import json
import os
import runpy
import shlex
import shutil
import subprocess
import sys
import threading

from pyinfra.api import Inventory

from core import ROOT
from core.settings import environment
from core.settings.backup_settings import backup_secret_names, repository_with_credentials
from core.settings.environment import OPERATOR
from core.settings.roles import ROLES, layouts
from flask_release.cli import history_line
from flask_release.config import Paths, build_user_for
from flask_release.run import SAFE_PATH
from flask_release.text import visible
from testbed import local_server
from tools.make_deploy import run_pyinfra


class Host:
    """A host of the inventory: its name, roles and settings."""

    def __init__(self, name, data, roles):
        self.name, self.roles, self.data = name, roles, data
        self.paths = Paths(
            self.data["app_name"], self.data["app_user"], build_user_for(self.data["app_user"], self.data["build_user"])
        )

    def ssh(self, remote, tty=False):
        """The ssh command that runs `remote` (a shell command line) on the host, as root."""
        data = self.data
        argv = ["ssh", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
        argv += ["-t"] if tty else ["-T"]
        if data.get("ssh_known_hosts_file"):
            argv += ["-o", f"UserKnownHostsFile={data['ssh_known_hosts_file']}"]
        if data.get("ssh_strict_host_key_checking"):
            argv += ["-o", f"StrictHostKeyChecking={data['ssh_strict_host_key_checking']}"]
        if data.get("ssh_key"):
            argv += ["-i", data["ssh_key"], "-o", "IdentitiesOnly=yes"]
        if data.get("ssh_port"):
            argv += ["-p", str(data["ssh_port"])]
        user = data.get("ssh_user", "root")
        argv += [f"{user}@{data.get('ssh_hostname', self.name)}", "--"]
        return argv + [f"sudo -n -- sh -c {shlex.quote(remote)}" if data.get("_sudo") else remote]

    def program(self, *arguments):
        return shlex.join([self.paths.program, "--by", OPERATOR, *arguments])

    def run(self, remote):
        """(exit status, output) of `remote` on the host."""
        result = subprocess.run(self.ssh(remote), capture_output=True, text=True, stdin=subprocess.DEVNULL)
        return result.returncode, (result.stdout + result.stderr).strip()


def hosts():
    """Every host of the inventory, once, with its roles and its settings as pyinfra merges them
    (inventory.py's over group_data/<role>.py's over group_data/all.py's), in the inventory's order."""
    servers = runpy.run_path(os.path.join(ROOT, "inventory.py"))  # (after main() handed the local server over)
    groups = {role: (servers[role], group_data(role)) for role in ROLES}
    names = list(dict.fromkeys(name for members, _ in groups.values() for name, _ in members))
    found = Inventory((names, group_data("all")), **groups)
    roles = {}
    for layout in layouts(found):
        for role in ROLES:
            for name in layout[role]:
                roles.setdefault(name, []).append(role)
    return [Host(member.name, member.data.dict(), roles[member.name]) for member in found if member.name in roles]


def group_data(group):
    """The settings of group_data/<group>.py ({} without one); read as pyinfra's command line
    does, without importing it (it patches this process for gevent)."""
    path = os.path.join(ROOT, "group_data", f"{group}.py")
    return environment.settings_in(path) if os.path.isfile(path) else {}


def on_each(targets, remote_of):
    """{host: (status, output)} of each host's command, run side by side."""
    with concurrent.futures.ThreadPoolExecutor() as pool:
        return dict(zip(targets, pool.map(lambda host: host.run(remote_of(host)), targets), strict=True))


def say(results):
    """Each host's output, its lines prefixed by its name (what the server sent made safe for the
    terminal: app output, logs); whether every command succeeded."""
    for host, (status, output) in results.items():
        for line in output.splitlines() or [f"(exit status {status})"]:
            print(f"[{host.name}] {visible(line)}")
    return all(status == 0 for status, _ in results.values())


# --- status ---------------------------------------------------------------------------------


def status(args):
    targets = hosts()
    reports = {}
    for host, (_, output) in on_each(targets, lambda host: host.program("report", "--json")).items():
        try:
            reports[host.name] = json.loads(output.splitlines()[-1])
        except (ValueError, IndexError):
            reports[host.name] = {"roles": host.roles, "healthy": False, "problems": [f"no report ({output})"]}
    if args.json:
        print(json.dumps(reports, indent=1, sort_keys=True))
    else:
        for name, found in reports.items():
            print(visible("\n".join(describe(name, found, targets[0].data["app_name"]))))
    return 0 if all(found["healthy"] for found in reports.values()) else 1


def ago(seconds):
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def describe(name, found, app=None):
    health = "healthy" if found["healthy"] else "UNHEALTHY"
    lines = [f"{name} [{', '.join(found['roles'])}]: {health}" + (f" (app {app})" if app else "")]
    lines += [f"  ! {problem}" for problem in found["problems"]]
    release = found.get("release")
    if release:
        serving = release["serving"] or "nothing"
        commit = f" (commit {release['commit'][:12]})" if release.get("commit") else ""
        lines.append(
            f"  release: {serving}{commit} since {release['since']} by {release['by']}; "
            f"kept: {', '.join(release['kept']) or 'none'}"
        )
    if "database" in found:
        lines.append(f"  migration revision: {found['database'].get('revision') or 'none'}")
    gunicorn = found.get("gunicorn")
    if gunicorn and gunicorn.get("live"):
        lines.append(f"  gunicorn: {gunicorn['live']} {gunicorn['state']}, {gunicorn['workers']} workers")
    if "health" in found:
        health, mode = found["health"], "on" if found["maintenance"] else "off"
        lines.append(f"  site: {health['detail']} in {health['seconds']} s; maintenance {mode}")
    if found.get("certificate"):
        cert = found["certificate"]
        lines.append(f"  certificate: {cert['issuer']}, {cert['days_left']} days left (until {cert['expires']})")
    if "mariadb" in found:
        lines.append(f"  MariaDB: {found['mariadb']}")
    if "backup" in found:
        backup = found["backup"]
        lines.append(
            f"  last backup: {backup['name']}, {backup['size']} bytes, {ago(backup['age_seconds'])}"
            if backup
            else "  last backup: none"
        )
    for kind, last in (found.get("offsite") or {}).items():
        if last:
            outcome = "ok" if last["ok"] else "FAILED"
            lines.append(
                f"  off-site {kind}: {outcome}, {ago(last['age_seconds'])} ({last['at']})"
                + (f", snapshot {last['snapshot']}" if last.get("snapshot") else "")
                + (f", {last['result']}" if last.get("result") else "")
            )
    disk = found.get("disk")
    lines += (
        []
        if not disk
        else [f"  disk: {disk['free_bytes'] // 2**20} MiB free ({disk['free_percent']}%); firewall {found['firewall']}"]
    )
    return lines


# --- logs and shell ---------------------------------------------------------------------------


def log_sources(host):
    """[(reader, files)] of the host's logs: gunicorn's are read as the app user (root follows no
    link in the folder the app user writes to), nginx's as root."""
    sources = []
    if "app" in host.roles:
        log_dir = host.data.get("log_dir") or f"/var/log/{host.data['app_name']}"
        sources.append((host.data["app_user"], [f"{log_dir}/access.log", f"{log_dir}/error.log"]))
    if "web" in host.roles:
        sources.append((None, ["/var/log/nginx/access.log", "/var/log/nginx/error.log"]))
    return sources


def logs(args):
    """The app's (gunicorn) and nginx's logs of each host, each line prefixed by the host's name."""
    targets = [
        (host, reader, files)
        for host in hosts()
        if not args.host or host.name == args.host
        for reader, files in log_sources(host)
    ]
    if not targets:
        sys.exit(f"no host named {args.host!r} holds logs: the inventory's are {', '.join(h.name for h in hosts())}")
    lock = threading.Lock()

    def relay(target):
        host, reader, files = target
        command = ["tail", "-q", "-n", str(args.lines), *(["-F"] if args.follow else []), *files]
        remote = shlex.join(["runuser", "-u", reader, "--", *command] if reader else command)
        with subprocess.Popen(host.ssh(remote), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as tail:
            for line in tail.stdout:
                with lock:
                    print(f"[{host.name}] {visible(line.rstrip(chr(10)))}", flush=True)
        return tail.returncode

    with concurrent.futures.ThreadPoolExecutor(len(targets)) as pool:
        try:
            return max(pool.map(relay, targets))
        except KeyboardInterrupt:
            return 0


def shell(args):
    """A shell (or `command`) as the app user in the serving release, with its settings in the
    environment and its venv first on PATH; on the first app host, or --host."""
    apps = [host for host in hosts() if "app" in host.roles and (not args.host or host.name == args.host)]
    if not apps:
        sys.exit(f"no app host named {args.host!r}: the inventory's are {', '.join(h.name for h in hosts())}")
    host = apps[0]
    current = host.paths.current
    command = ["sh", "-c", args.command] if args.command else ["bash", "-l"]
    remote = shlex.join(
        [
            "runuser", "-u", host.data["app_user"], "--",
            "env", "-C", current, f"PATH={current}/venv/bin:{SAFE_PATH}", f"FLASK_APP={host.data['flask_app']}",
            host.paths.program, "app-exec", *command,
        ]
    )  # fmt: skip
    if sys.stdin.isatty() and not args.command:  # a terminal of the app user's, as ssh gives one
        return subprocess.run(host.ssh(remote, tty=True)).returncode
    with subprocess.Popen(host.ssh(remote), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True) as command:
        for line in command.stdout:
            print(visible(line.rstrip("\n")), flush=True)
    return command.returncode


# --- backups, maintenance, history ----------------------------------------------------------


def migrating_host():
    return next(host for host in hosts() if "app" in host.roles)


def backup(args):
    host = migrating_host()
    return 0 if say({host: host.run(host.program("backup"))}) else 1


def backups(args):
    host = migrating_host()
    return 0 if say({host: host.run(host.program("backups"))}) else 1


def set_maintenance(on):
    webs = [host for host in hosts() if "web" in host.roles]
    return say(on_each(webs, lambda host: host.program("maintenance", "on" if on else "off")))


def maintenance(args):
    return 0 if set_maintenance(True) else 1


def live(args):
    return 0 if set_maintenance(False) else 1


def restore(args):
    """The site in maintenance on every web host while the newest dump (or --dump, or the off-site
    --snapshot) is restored, live again afterwards whatever happened. A snapshot brings root's
    secrets back too: a deploy then applies them (the .env, MariaDB's password, the app)."""
    host = migrating_host()
    if not set_maintenance(True):
        set_maintenance(False)
        return 1
    chosen = ["--snapshot", args.snapshot] if args.snapshot else ["--dump", args.dump] if args.dump else []
    try:
        restored = say({host: host.run(host.program("restore", *chosen))})
        if restored and args.snapshot:
            restored = run_pyinfra() == 0  # the secrets it brought back, applied
    finally:
        back = set_maintenance(False)
    return 0 if restored and back else 1


def offsite_forget(args):
    """`backup_offsite_keep` applied to the off-site repository from this machine, with restic and
    this machine's credentials (BACKUP_PASSWORD, backup_secrets), through `backup_admin_repository`:
    what an append-only repository lets no server do."""
    data = migrating_host().data
    repository = data.get("backup_admin_repository") or data.get("backup_repository")
    if not repository:
        sys.exit("no backup_repository is set: nothing is copied off-site.")
    if not shutil.which("restic"):
        sys.exit("restic is not installed on this machine: apt-get install restic (or see restic.net).")
    names = backup_secret_names(data)
    secrets = {name: environment.get(name) for name in (environment.BACKUP_PASSWORD, *names) if environment.get(name)}
    if environment.BACKUP_PASSWORD not in secrets:
        sys.exit(f"{environment.BACKUP_PASSWORD} is not set in this machine's environment or .env.")
    env = {**os.environ, **secrets, "RESTIC_PASSWORD": secrets[environment.BACKUP_PASSWORD]}
    env["RESTIC_REPOSITORY"] = repository_with_credentials(repository, secrets)
    keep = [
        part for kind, count in sorted(data["backup_offsite_keep"].items()) for part in (f"--keep-{kind}", str(count))
    ]
    command = ["restic", "forget", "--tag", f"app={data['app_name']}", "--group-by", "host", *keep, "--prune"]
    return subprocess.run(command, env=env, stdin=subprocess.DEVNULL).returncode


def history(args):
    apps = [host for host in hosts() if "app" in host.roles]
    results = on_each(apps, lambda host: host.program("history", "--json"))
    entries = {}
    for host, (_, output) in results.items():
        try:
            entries[host.name] = json.loads(output.splitlines()[-1])
        except (ValueError, IndexError):
            print(f"[{host.name}] no history: {output}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(entries, indent=1))
        return 0
    for name, found in entries.items():
        for entry in found:
            print(f"[{name}] {visible(history_line(entry))}")
    return 0


COMMANDS = {
    "status": (status, "how every host does; exit status 1 when anything is unhealthy"),
    "logs": (logs, "the app's and nginx's logs of every host, prefixed by its name"),
    "shell": (shell, "a shell (or a command) as the app user in the serving release, with its settings"),
    "backup": (backup, "a dump of the database now"),
    "backups": (backups, "the dumps kept"),
    "restore": (restore, "the newest dump (or --dump, or an off-site --snapshot) restored, the site in maintenance"),
    "offsite-forget": (offsite_forget, "the off-site retention (backup_offsite_keep) applied from this machine"),
    "maintenance": (maintenance, "every web host answers 503 with the maintenance page"),
    "live": (live, "every web host serves the app again"),
    "history": (history, "every release, rollback and failure of every app host"),
}


def parser():
    main = argparse.ArgumentParser(prog="day_two", description=__doc__.split("\n")[0])
    commands = main.add_subparsers(dest="action", required=True)
    for name, (_, text) in COMMANDS.items():
        command = commands.add_parser(name, help=text)
        if name in ("status", "history"):
            command.add_argument("--json", action="store_true")
        if name in ("logs", "shell"):
            command.add_argument("--host", help="one host of the inventory, by name")
    commands.choices["logs"].add_argument("--follow", action="store_true")
    commands.choices["logs"].add_argument("--lines", type=int, default=20)
    commands.choices["shell"].add_argument(
        "--command", default=os.environ.get("CMD"), help="run this (sh -c) instead of a login shell (default: $CMD)"
    )
    commands.choices["restore"].add_argument("--dump", help="a dump's file name (default: the newest)")
    commands.choices["restore"].add_argument("--snapshot", help="an off-site snapshot's id, or latest")
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    if not environment.real_servers_configured():
        os.environ.update(local_server.handover())
    return COMMANDS[args.action][0](args)


if __name__ == "__main__":
    sys.exit(main())
