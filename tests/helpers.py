"""Settings for the tests without a server: the settings' defaults (core/settings/defaults.py), resolved as the
deploy resolves them for one host holding every role (or another layout)."""

import os

from core.settings.names import declared
from core.settings.resolved import resolve
from core.settings.roles import Roles

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULTS = declared()
ALONE = Roles(web=("one",), app=("one",), db="one", addresses=(("one", "127.0.0.1"),))
SPREAD = Roles(
    web=("web",),
    app=("app1", "app2"),
    db="db",
    addresses=(("web", "10.0.0.1"), ("app1", "10.0.0.2"), ("app2", "10.0.0.3"), ("db", "10.0.0.4")),
)


def data(**overrides):
    return {**DEFAULTS, **overrides}


def settings_of(name="one", layout=ALONE, cores=2, debian=12, records=None, **overrides):
    return resolve(name, data(**overrides), layout, cores, debian, records=records)
