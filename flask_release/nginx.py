"""This host's nginx, changed by a link its config includes: the live color's upstream, the
maintenance rules. A change is checked (nginx -t) before the reload, and undone when rejected."""

import os
import subprocess
import time

from .run import Failed

RELOAD_SECONDS = 10  # how long nginx may take to apply a reload


def relink(runner, link, target):
    """`link` points at `target` (None: no link), then nginx reloads; returns whether it changed."""
    previous = os.readlink(link) if os.path.islink(link) else None
    if previous == target:
        return False
    _point(link, target)
    checked = runner.run(["nginx", "-t", "-q"], what="nginx -t", timeout=60, capture=True, check=False)
    if checked.code != 0:
        _point(link, previous)
        raise Failed(f"nginx rejects its config ({checked.err.decode(errors='replace').strip()})")
    before = workers()
    runner.run(["systemctl", "reload", "nginx"], what="reloading nginx", timeout=60)
    # nginx applies a reload in the background: until it has, the workers from before still
    # take requests as they did
    deadline = time.monotonic() + RELOAD_SECONDS
    while before & workers() and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def _point(link, target):
    if target is None:
        if os.path.islink(link):
            os.unlink(link)
        return
    os.symlink(target, f"{link}.next")
    os.replace(f"{link}.next", link)


def workers(shutting_down=False):
    """The PIDs of nginx's workers that take new requests, or (`shutting_down`) of those that
    finish their requests after a reload."""
    title = "nginx: worker process is shutting down" if shutting_down else "nginx: worker process"
    found = subprocess.run(["pgrep", "-x", "-f", title], capture_output=True, text=True, check=False)
    return set(found.stdout.split())
