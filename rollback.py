"""Goes back to the previous release: pyinfra inventory.py rollback.py (`make rollback`)."""

from pyinfra import state

import preflight
from tasks.rollback import rollback_release

preflight.checked(state)
rollback_release()
