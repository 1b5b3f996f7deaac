from pyinfra.api import deploy

from core.settings import settings
from operations.release import app_running, site_answers


@deploy("The site serves")
def site_serves():
    """Ensures every deploy ends with the site serving: gunicorn started again when supervisor has
    it stopped or FATAL (MariaDB and nginx were started by their tasks), then the health check,
    through nginx on a web host and straight on gunicorn on an app host elsewhere. Changes
    nothing when all is well; fails, naming what does not answer, when it is not."""
    s = settings()
    if s.is_app:
        app_running(name=f"gunicorn of {s.app_name} runs", program=s.paths.program, app_name=s.app_name)
    what = f"{s.name}: the site through nginx ({s.site_url})" if s.is_web else f"{s.name}: gunicorn"
    site_answers(
        name="The site answers its health check", program=s.paths.program, seconds=s.health_check_seconds, what=what
    )
