"""Goes back to the previous release: pyinfra inventory.py rollback.py (`make rollback`)."""

from pyinfra import host, state

from tasks.checks import check_settings
from tasks.release import rollback_release

check_settings(host, state)
rollback_release()
