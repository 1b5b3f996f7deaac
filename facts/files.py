"""What is at several paths, read in one command."""

import shlex

from pyinfra.api import FactBase


class Folders(FactBase):
    """{path: (type, mode as an int, user, group)} of each of `paths` that exists, links not followed."""

    @staticmethod
    def default():
        return {}

    def command(self, paths):
        return f"stat -c '%F|%a|%U|%G|%n' -- {' '.join(shlex.quote(path) for path in paths)} 2>/dev/null || true"

    def process(self, output):
        found = {}
        for line in output:
            kind, mode, user, group, path = line.split("|", 4)
            found[path] = (kind, int(mode, 8), user, group)
        return found
