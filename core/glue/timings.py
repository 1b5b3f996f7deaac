"""How long a deploy took: printed at its end, and, for the benchmarks, each operation's time
written to the file DEPLOY_TIMINGS names (JSON)."""

import atexit
import json
import os
import sys
import time

from pyinfra.api.state import BaseStateCallback

from core.settings.environment import TIMINGS_FILE


class Timings(BaseStateCallback):
    def __init__(self):
        self.started = time.monotonic()
        self.operations = {}  # op hash: [name, started, ended]
        atexit.register(self.report)

    def operation_start(self, state, op_hash):
        self.operations[op_hash] = [" | ".join(sorted(state.get_op_meta(op_hash).names)), time.monotonic(), None]

    def operation_end(self, state, op_hash):
        self.operations[op_hash][2] = time.monotonic()

    def report(self):
        total = time.monotonic() - self.started
        path = os.environ.get(TIMINGS_FILE)
        if path:
            operations = [
                {"name": name, "seconds": ended - started}
                for name, started, ended in self.operations.values()
                if ended is not None
            ]
            with open(path, "w") as handle:
                json.dump({"total": total, "operations": operations}, handle)
        print(f"--> Deploy took {total:.1f} s", file=sys.stderr)
