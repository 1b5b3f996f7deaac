"""This host's nginx, changed by root's files its config includes: a link to the live color's
upstream, a link to the maintenance rules, and (on a lone host) where /static is: the folder of
the release that serves, by its real path, so that nginx, which follows no link there, never
leaves the release. A change is checked (nginx -t) before the reload, and undone when rejected."""

import os
import re
import time

from . import links
from .run import Failed

RELOAD_SECONDS = 10  # how long nginx may take to apply a reload
MASTER_PID = "/run/nginx.pid"  # Debian's: written by nginx's master, root's
STATIC = "# Written by {program}: /static is the folder of the release that serves.\nalias {folder}/;\n"
STATIC_FOLDER = re.compile(r"^/[A-Za-z0-9._/+~-]+$")


def relink(runner, link, target, changed=False):
    """`link` points at `target` (None: no link), then nginx reloads (also when `changed`, another
    of its files changed); returns whether it reloaded."""
    previous = links.target(link)
    if previous == target and not changed:
        return False
    links.point(link, target)
    checked = runner.run(["nginx", "-t", "-q"], what="nginx -t", timeout=60, capture=True, check=False)
    if checked.code != 0:
        links.point(link, previous)
        raise Failed(f"nginx rejects its config ({checked.err.decode(errors='replace').strip()})")
    before = workers()
    runner.run(["systemctl", "reload", "nginx"], what="reloading nginx", timeout=60)
    # nginx applies a reload in the background: until it has, the workers from before still
    # take requests as they did
    deadline = time.monotonic() + RELOAD_SECONDS
    while before & workers():
        if time.monotonic() >= deadline:
            runner.say(f"nginx had not applied its reload within {RELOAD_SECONDS} s: going on")
            break
        time.sleep(0.05)
    return True


def serve_static(path, folder, program):
    """Root's file `path` says that nginx serves /static from `folder`; whether that changed."""
    if not STATIC_FOLDER.match(folder) or ".." in folder.split("/"):
        raise Failed(f"{folder!r} cannot be the static folder nginx serves")
    text = STATIC.format(program=program, folder=folder)
    try:
        with open(path) as handle:
            if handle.read() == text:
                return False
    except FileNotFoundError:
        pass
    descriptor = os.open(f"{path}.next", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(f"{path}.next", path)
    return True


def workers(shutting_down=False, proc="/proc"):
    """The PIDs of nginx's workers that take new requests, or (`shutting_down`) of those that
    finish their requests after a reload: children of nginx's master (root's), by their title, so
    that no process of anyone else's, whatever it calls itself, counts."""
    try:
        with open(MASTER_PID) as handle:
            master = handle.read().strip()
    except OSError:
        return set()
    title = b"nginx: worker process is shutting down" if shutting_down else b"nginx: worker process"
    found = set()
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        try:
            with open(f"{proc}/{pid}/stat", "rb") as handle:
                parent = handle.read().rsplit(b")", 1)[1].split()[1]
            if parent.decode() != master:
                continue
            with open(f"{proc}/{pid}/cmdline", "rb") as handle:
                command = handle.read().rstrip(b"\0").replace(b"\0", b" ").rstrip()
        except (OSError, IndexError):
            continue
        if command == title:
            found.add(pid)
    return found


def accounts(pids, proc="/proc"):
    """The accounts (uids) nginx's workers `pids` run as."""
    found = set()
    for pid in pids:
        try:
            found.add(os.stat(f"{proc}/{pid}").st_uid)
        except OSError:
            continue
    return found
