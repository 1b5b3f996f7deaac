# Your settings for every server: set here what differs from the defaults, e.g.
#   domain = "blog.example.org"
#   acme_email = "you@example.org"
# docs/settings.md lists every setting (declared once in core/settings/defaults.py); per host they go in
# inventory.py, per run in --data NAME=VALUE. A name that is no setting is refused, named.
from core.settings.defaults import *  # noqa: F403 (pyinfra reads the defaults through this file)
