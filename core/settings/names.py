"""The names a host's data may hold, and a typo named: the settings declared in core/settings/defaults.py,
and pyinfra's own (its SSH connector's `ssh_*`, its arguments `_*`, the inventory's
`private_address`). Any other name in `--data`, in inventory.py or in a group_data file
(all.py included) is refused before connecting, with the nearest setting's name."""

import difflib
import os
import runpy

from core import ROOT
from core.settings import environment

DEFAULTS = os.path.join(ROOT, "core", "settings", "defaults.py")
INVENTORY_NAMES = ("private_address",)  # core.settings.environment's (a host's address on the private network)


def declared():
    """{name: default} of every setting (core/settings/defaults.py)."""
    return environment.settings_in(DEFAULTS)


def declared_kinds():
    """{name: kind} of the settings declared of a kind (`name: "count" = 5`; core/settings/kinds.py)."""
    return dict(runpy.run_path(DEFAULTS)["__annotations__"])


def is_pyinfras(name):
    return name.startswith(("ssh_", "_")) or name in INVENTORY_NAMES


def unknown_problems(sources, known=None):
    """What names of `sources` ([(where, data)]) are no setting, each with the nearest one (named
    once, in the first source that holds it)."""
    known = set(declared() if known is None else known)
    found, named = [], set()
    for where, data in sources:
        for name in sorted(set(data) - known):
            if is_pyinfras(name) or name in named:
                continue
            named.add(name)
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"did you mean `{near[0]}`?" if near else "docs/settings.md lists the settings."
            found.append(f"`{name}` ({where}) is not a setting: {hint}")
    return found


def inventory_sources(inventory):
    """[(where, data)] of what an inventory was given: --data, the DEPLOY_SETTINGS file (which
    inventory.py puts in each host's data), each host's data of inventory.py, each group's data
    (of inventory.py or group_data/<group>.py), group_data/all.py's."""
    sources = [
        ("--data", inventory.get_override_data()),
        (f"{environment.SETTINGS_FILE}={environment.get(environment.SETTINGS_FILE)}", environment.settings_file()),
        ("group_data/all.py", inventory.get_data()),
    ]
    sources += [(f"inventory.py, host {name}", data) for name, data in sorted(inventory.host_data.items())]
    sources += [(f"group data of {group}", data) for group, data in sorted(inventory.group_data.items())]
    return sources
