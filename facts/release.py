"""What the release program on a host says: its status (serving release, history) and the
health check."""

import json
import shlex

from pyinfra.api import FactBase


class ReleaseStatus(FactBase):
    """The program's `status --json`, or None where it is not installed yet."""

    def command(self, program):
        return f"test -x {shlex.quote(program)} && {shlex.quote(program)} status --json 2>/dev/null || true"

    def process(self, output):
        try:
            return json.loads("\n".join(output)) if output else None
        except ValueError:
            return None


class HealthCheck(FactBase):
    """{"healthy": bool, "detail": str} of the program's health check, waiting up to `wait` s."""

    def command(self, program, wait, live=False):
        return (
            f"{shlex.quote(program)} check --json --wait {int(wait)}{' --live' if live else ''} 2>/dev/null || "
            'echo \'{"healthy": false, "detail": "the release program does not answer"}\''
        )

    def process(self, output):
        try:
            return json.loads(output[-1])
        except (ValueError, IndexError):
            return {"healthy": False, "detail": " ".join(output)}
