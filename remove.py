"""Takes one app off its servers, the other apps there untouched: pyinfra inventory.py remove.py
(`make remove APP=<app_name>`, DATA=1 to drop its database and dumps too)."""

from pyinfra import logger, state
from pyinfra.api.exceptions import PyinfraError

import preflight
from core.settings.resolved import settings
from tasks.removal import app_removed

preflight.checked(state)
s = settings()
if s.remove_app != s.app_name:
    raise PyinfraError(
        f"`remove_app` = {s.remove_app!r}: name the app to remove, as a check that these are its settings: "
        f"make remove APP={s.app_name} (or --data remove_app={s.app_name}). Nothing was changed."
    )
kept = "" if s.remove_data else "; its database and dumps are kept (remove_data=True drops them)"
logger.info(f"{s.name}: removing {s.app_name}{kept}")
app_removed()
