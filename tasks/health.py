from pyinfra.api import deploy

from core.plan import converged as record
from core.settings.resolved import settings
from operations.converged import recorded
from operations.files import folders
from operations.release import app_running, site_answers


@deploy("The site serves")
def site_serves(converged=False):
    """Ensures every deploy ends with the site serving: gunicorn started again when supervisor has
    it stopped or FATAL (MariaDB and nginx were started by their tasks), then the health check,
    through nginx on a web host and straight on gunicorn on an app host elsewhere; fails, naming
    what does not answer, when it is not. Then the host's state is recorded, so that a deploy
    with nothing to change can tell at once (core/plan/converged.py), unless the host is so `converged`."""
    s = settings()
    if s.is_app:
        app_running(name=f"gunicorn of {s.app_name} answers", program=s.paths.program)
    if s.is_app or s.is_web:
        what = f"{s.name}: the site through nginx ({s.site_url})" if s.is_web else f"{s.name}: gunicorn"
        site_answers(
            name="The site answers its health check", program=s.paths.program, seconds=s.health_check_seconds, what=what
        )
    if not converged:
        if not (s.is_app or s.is_web):  # elsewhere the release program's task makes this folder
            state_dir = s.paths.state_dir
            folders(name=f"{state_dir} (0700, root's)", modes={state_dir: "0700"}, user="root", group="root")
        digest = record.desired_digest(s)
        recorded(
            name="The state is recorded for the next deploy",
            command=record.record_command(s, digest),
            desired=digest,
            probe=record.probe(s),
            clock=record.clock_probe(s),
            path=s.paths.converged_file,
            state_file=f"{s.paths.state_dir}/state.json",
        )
