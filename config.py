"""pyinfra's settings for this deploy (read by `pyinfra inventory.py deploy.py` from this folder)."""

from pyinfra import config, state

from core.glue.callbacks import register
from core.glue.timings import Timings
from preflight import Preflight

# The hosts of a layout work together: a step that fails on one host stops the deploy on all of
# them, so a rolling update never goes on past a host that failed.
config.FAIL_PERCENT = 0
# Settings, roles, SSH and sudo are checked before anything changes; the deploy's time is printed.
register(state, Preflight(), Timings())
