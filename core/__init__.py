"""What the tasks read, by concern: settings/ (every setting declared once, checked, resolved into
one object per host; the roles, the secrets, the environment's names), plan/ (what a host holds
and is to get: the release to deploy, whether anything changed, what each task manages, results
handed between hosts) and glue/ (pyinfra's side: callbacks, timings, templates, the release
program's build, the Debian release)."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the package's folder
