"""Servers to deploy to, grouped by role: `web` (nginx, TLS), `app` (gunicorn, releases,
migrations) and `db` (MariaDB).

From the environment or a local .env (names in core/settings/environment.py), each a comma-separated list:
  DEPLOY_HOSTS       hosts that hold every role not given below (one host: the whole stack)
  DEPLOY_WEB_HOSTS   web hosts (default DEPLOY_HOSTS)
  DEPLOY_APP_HOSTS   app hosts (default DEPLOY_HOSTS)
  DEPLOY_DB_HOST     the database host, one (default DEPLOY_HOSTS)
A host is ADDRESS, ADDRESS:SSH_PORT, or either followed by =PRIVATE_ADDRESS: the IP address the
other hosts reach it at (default ADDRESS), needed when the roles are spread over several hosts.
SSH as DEPLOY_SSH_USER (default root; any other user needs sudo) with the key DEPLOY_SSH_KEY
(default: your SSH agent/config) on DEPLOY_SSH_PORT; host keys in DEPLOY_SSH_KNOWN_HOSTS (default
~/.ssh/known_hosts), new ones accepted on first contact. An ADDRESS may be a Host of the
ssh_config file DEPLOY_SSH_CONFIG, which then gives its address, port, user and key.
DEPLOY_SETTINGS names a settings file (Python, like group_data/all.py) every host takes over
group_data's: one app's settings, e.g. DEPLOY_SETTINGS=apps/blog.py.
With none of them set, `make deploy` hands its local Debian server over the same way.
Edit this file for more; preflight.py checks it all before anything changes.
"""

import sys

from core.settings import environment

try:
    _roles = environment.servers_by_role()
except ValueError as error:  # a variable that names no host or file: said without a traceback
    sys.exit(f"The servers need fixing before anything changes: {error}")
web, app, db = _roles["web"], _roles["app"], _roles["db"]
