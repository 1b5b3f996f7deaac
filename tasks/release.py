import shlex

from pyinfra import host, logger
from pyinfra.api import FactBase, deploy, operation
from pyinfra.operations import files

from tasks.common import certificate_for, db_client_file, nginx_site, release, render, resolve_ref_script, settings
from tasks.layout import host_named, layout
from tasks.nginx import site, site_paths


class RollbackPlan(FactBase):
    """(serving release, previous release) as the release script sees them, or None."""

    def command(self, script):
        return f"test -x {shlex.quote(script)} && {shlex.quote(script)} plan-rollback 2>/dev/null || true"

    def process(self, output):
        parts = output[0].split() if output else []
        return tuple(parts) if len(parts) == 2 else None


def release_script():
    """The release script, rendered for this host: pip options, MariaDB access, and the health
    check: through nginx when this host's nginx serves this release alone, else straight to
    gunicorn, as the web hosts reach it."""
    s = settings()
    pip_options = []
    if host.data.get("pip_index_url"):
        pip_options += ["--index-url", host.data.pip_index_url]
    pip_options += shlex.split(host.data.get("pip_extra_args") or "")
    if host.data.get("pip_constraints"):
        pip_options += ["-c", f"{s.app_dir}/shared/pip-constraints.txt"]
    path, domain = host.data.health_check_path, s.server_names[0]
    if not layout().serves_static_itself(host.name) or host.name not in layout().web:
        health_url, health_curl = f"http://{s.bind}{path}", ["-H", f"Host: {domain}"]
    elif host.data.tls == "off":
        health_url, health_curl = f"http://127.0.0.1{path}", ["-H", f"Host: {domain}"]
    else:  # nginx's own certificate may be self-signed or from a private CA: not what is checked here
        health_url, health_curl = f"https://{domain}{path}", ["-k", "--resolve", f"{domain}:443:127.0.0.1"]
    return render("release.sh.j2", pip_options=pip_options, health_url=health_url, health_curl=health_curl,
                  db_client_file=db_client_file())


@operation()
def all_hosts_ready():
    """Changes nothing. Every host calls it at the same place of the deploy, so the operations
    after it start once every host has done all those before it."""
    yield from ()


@operation(is_idempotent=False)
def on_hosts(hosts: list, command: str):
    """Runs command on the hosts named in `hosts`; the others do nothing. Every host calls it at the
    same place of the deploy, so pyinfra runs it after all that each host did before."""
    if host.name in hosts:
        yield command


@operation()
def upstream_without(down: list):
    """Ensures the nginx of a web host proxies to every app host but those in `down` (taken out
    for their update), reloaded gracefully. Other hosts: nothing."""
    if host.name not in layout().web:
        return
    available, enabled = site_paths()
    changed = False
    for command in nginx_site._inner(src=site(certificate_for(host.data.tls), down), available=available,
                                     enabled=enabled):
        changed = True
        yield command
    if changed:
        yield "systemctl reload nginx"


def release_command(phase, target):
    s = settings()
    script = shlex.quote(s.release_script)
    if target.commit:
        return f"{script} {phase} {shlex.quote(target.name)} {shlex.quote(target.commit)}"
    # first fetch of a URL: the server resolves the ref
    return f'cd {shlex.quote(s.repo_dir)} && {resolve_ref_script(host.data.get("ref"))}{script} {phase} "$name" "$commit"'


def rolling(hosts, action, command):
    """Does `command` on the app hosts, `rolling_batch_size` at a time, each batch taken out of nginx
    meanwhile. Every host calls it alike, so its steps line up across hosts."""
    current = layout()
    size = host_named(current.migrating_host).data.rolling_batch_size
    for batch in host.loop([hosts[index:index + size] for index in range(0, len(hosts), size)]):
        # nginx needs one app host in: a batch with all of them is done without taking it out
        out = batch if len(batch) < len(current.app) else []
        upstream_without(name=f"Take {', '.join(batch)} out of nginx", down=out)
        on_hosts(name=f"{action} {', '.join(batch)}", hosts=batch, command=command)
        upstream_without(name=f"Put {', '.join(batch)} back into nginx", down=[])


@deploy("Release")
def release_app():
    """Ensures every app host runs the release to deploy. With one app host, its release script
    builds the release beside the serving one (venvs shared by identical requirements), backs the
    database up (keeping `backups_keep`), migrates, switches `current` atomically, reloads gunicorn
    gracefully and health-checks; a failed step brings back the serving release and schema.
    With several, a rolling update: every app host builds, one migrates, then `rolling_batch_size`
    hosts at a time are taken out of nginx, switched, health-checked and put back."""
    current = layout()
    if host.name in current.app:
        s = settings()
        files.put(name="Release script", src=release_script(), dest=s.release_script, mode="0750")
        files.directory(name=f"Database backups in {s.backup_dir} (0700)", path=s.backup_dir, mode="0700")
    targets = {name: release(host_named(name)) for name in current.app}
    changed = [name for name, target in targets.items() if target.changed]
    if not changed:
        return
    first = targets[changed[0]]
    change = f"{first.serving or 'none'} -> {first.name or 'the latest tag'}"
    mine = targets.get(host.name)
    command = (lambda phase: release_command(phase, mine)) if mine else (lambda phase: "")
    if len(current.app) == 1:
        on_hosts(name=f"Release {change}", hosts=changed, command=command("deploy"))
        return
    on_hosts(name=f"Build {change} on {', '.join(current.app)}", hosts=list(current.app), command=command("build"))
    on_hosts(name=f"Migrate the database once, on {current.migrating_host}", hosts=[current.migrating_host],
             command=command("migrate"))
    rolling(changed, f"Switch to {first.name or 'the latest tag'}:", command("switch"))


@deploy("Rollback")
def rollback_release():
    """Ensures the app hosts run the release before the serving one (code, venv and schema), with
    the same graceful reload and health check. With several app hosts, they go back one batch at a
    time (taken out of nginx meanwhile), then the first one undoes the newer release's migrations."""
    current = layout()
    script = ""
    if host.name in current.app:
        script = shlex.quote(settings().release_script)
        plan = host.get_fact(RollbackPlan, script=settings().release_script)
        if plan:
            logger.info(f"{host.name}: rollback {plan[0]} -> {plan[1]}")
    if len(current.app) == 1:
        on_hosts(name="Rollback", hosts=list(current.app), command=f"{script} rollback")
        return
    rolling(list(current.app), "Roll back", f"{script} rollback-switch")
    on_hosts(name=f"Undo the newer release's migrations, on {current.migrating_host}",
             hosts=[current.migrating_host], command=f"{script} rollback-database")
