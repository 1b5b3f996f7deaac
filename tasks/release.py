import shlex

from pyinfra import host, logger
from pyinfra.api import FactBase, deploy
from pyinfra.operations import files, server

from tasks.common import release, render, resolve_ref_script, settings


class RollbackPlan(FactBase):
    """(serving release, previous release) as the release script sees them, or None."""

    def command(self, script):
        return f"test -x {shlex.quote(script)} && {shlex.quote(script)} plan-rollback 2>/dev/null || true"

    def process(self, output):
        parts = output[0].split() if output else []
        return tuple(parts) if len(parts) == 2 else None


def release_script():
    """The release script, rendered for this host: pip options and the health check through nginx."""
    s = settings()
    pip_options = []
    if host.data.get("pip_index_url"):
        pip_options += ["--index-url", host.data.pip_index_url]
    pip_options += shlex.split(host.data.get("pip_extra_args") or "")
    if host.data.get("pip_constraints"):
        pip_options += ["-c", f"{s.app_dir}/shared/pip-constraints.txt"]
    path, domain = host.data.health_check_path, s.server_names[0]
    if host.data.tls == "off":
        health_url, health_curl = f"http://127.0.0.1{path}", ["-H", f"Host: {domain}"]
    else:  # nginx's own certificate may be self-signed or from a private CA: not what is checked here
        health_url, health_curl = f"https://{domain}{path}", ["-k", "--resolve", f"{domain}:443:127.0.0.1"]
    return render("release.sh.j2", pip_options=pip_options, health_url=health_url, health_curl=health_curl)


@deploy("Release")
def release_app():
    """Ensures the server runs the release to deploy. When it is new, the release script builds it
    beside the serving one (venvs shared by identical requirements), backs the database up
    (keeping `backups_keep`), migrates, switches `current` atomically, reloads gunicorn gracefully
    and health-checks through nginx; a failed step brings back the serving release and schema."""
    s = settings()
    files.put(name="Release script", src=release_script(), dest=s.release_script, mode="0750")
    files.directory(name=f"Database backups in {s.backup_dir} (0700)", path=s.backup_dir, mode="0700")
    target = release()
    if not target.changed:
        return
    script = shlex.quote(s.release_script)
    if target.commit:
        command = f"{script} deploy {shlex.quote(target.name)} {shlex.quote(target.commit)}"
    else:  # first fetch of a URL: the server resolves the ref
        command = (f"cd {shlex.quote(s.repo_dir)} && {resolve_ref_script(host.data.get('ref'))}"
                   f'{script} deploy "$name" "$commit"')
    server.shell(name=f"Release {target.serving or 'none'} -> {target.name or 'the latest tag'}",
                 commands=[command])


@deploy("Rollback")
def rollback_release():
    """Ensures the server runs the release before the serving one (code, venv and schema), with the
    same graceful reload and health check."""
    s = settings()
    plan = host.get_fact(RollbackPlan, script=s.release_script)
    if plan:
        logger.info(f"{host.name}: rollback {plan[0]} -> {plan[1]}")
    server.shell(name=f"Rollback {plan[0]} -> {plan[1]}" if plan else "Rollback",
                 commands=[f"{shlex.quote(s.release_script)} rollback"])
