"""Someone hears about what failed: a small JSON document POSTed to the alert URL of root's
release-secrets.env (setting `alert_url`), when a nightly backup, an off-site copy, a restore
drill or a release fails. An alert that cannot be sent is said, never a failure of its own."""

import json
import socket
import urllib.error
import urllib.request

from .app_env import Unreadable, parse
from .state import now

ALERT_SECONDS = 10


def alert_url(path):
    try:
        with open(path) as handle:
            return parse(handle.read()).get("ALERT_URL")
    except (OSError, Unreadable):
        return None


def alert(runner, config, event, message, release=None):
    """POSTs {event, app, host, release, message, time} to the alert URL, when there is one."""
    url = alert_url(config.paths.program_secrets)
    if not url or not url.startswith(("http://", "https://")):
        return
    document = {
        "event": event,
        "app": config.app_name,
        "host": config.offsite_host or socket.gethostname(),
        "release": release,
        "message": message,
        "time": now(),
    }
    request = urllib.request.Request(  # noqa: S310 (an http(s) URL of the operator's)
        url, data=json.dumps(document).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=ALERT_SECONDS):  # noqa: S310 (the operator's URL)
            pass
    except (OSError, urllib.error.URLError, ValueError) as error:
        runner.say(f"the alert of {event} could not be sent ({type(error).__name__})")
