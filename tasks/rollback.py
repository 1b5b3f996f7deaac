from pyinfra import host, logger
from pyinfra.api import deploy

from core.settings.resolved import settings
from facts.release import ReleaseStatus
from operations.release import on_hosts
from tasks.release import BY, rolling


@deploy("Rollback")
def rollback_release():
    """Ensures the app hosts run the release that served before the serving one (code, venv and
    schema), with the same graceful reload and health check. With several app hosts, they go back
    one batch at a time (taken out of nginx meanwhile), then the first one undoes the newer
    release's migrations."""
    s = settings()
    if s.is_app:
        status = host.get_fact(ReleaseStatus, program=s.paths.program) or {}
        if status.get("previous"):
            logger.info(f"{host.name}: rollback {status['serving']} -> {status['previous']}")
    if len(s.roles.app) == 1:
        on_hosts(
            name="Rollback", hosts=list(s.roles.app), program=s.paths.program, arguments=[*BY, "rollback"], report=True
        )
        return
    rolling(s, list(s.roles.app), "Roll back", [*BY, "rollback-switch"])
    on_hosts(
        name=f"Undo the newer release's migrations, on {s.roles.migrating_host}",
        hosts=[s.roles.migrating_host],
        program=s.paths.program,
        arguments=[*BY, "rollback-database"],
    )
