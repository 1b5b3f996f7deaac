"""Root's record of an app's releases on this server, and the lock of release transactions.

Both live in /var/lib/<app> (root's, 0700), so the app user can neither read nor hold them.
state.json holds: the releases built (their name, commit, venv), the venvs built, the history
of releases served (newest last), the one serving, the one built and waiting for its switch
(`pending`), the step in progress (`journal`) and the release a rollback left (`left`)."""

import fcntl
import json
import os
import time
from datetime import UTC, datetime

from .text import visible

# Where releases are built: 2, under root's /srv/<app>, by the build account (1: in the app user's
# home, by the app user). Releases and venvs of an earlier layout count as not built: the next
# deploy builds the serving release again (the history stays).
LAYOUT = 2
EMPTY = {
    "layout": LAYOUT,
    "live": None,  # the color (blue, green) whose gunicorn serves
    "releases": {},
    "venvs": {},
    "history": [],
    "serving": None,
    "pending": None,
    "journal": None,
    "left": None,
    "shrunk": 0,  # workers the live color dropped while the next starts: given back if no switch happens
    "dump_seq": 0,
}
HISTORY_KEEP = 200


def built(data):
    """The releases of root's record `data` (as read from state.json) built where this layout builds."""
    return (data.get("releases") or {}) if data.get("layout") == LAYOUT else {}


def now():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    def __init__(self, path):
        self.path = path
        try:
            with open(path) as handle:
                data = json.load(handle)
            self.data = {**EMPTY, **data, "layout": LAYOUT}
            if data.get("layout") != LAYOUT:
                self.data.update(releases={}, venvs={}, pending=None)
        except FileNotFoundError:
            self.data = json.loads(json.dumps(EMPTY))

    def save(self):
        """Atomically: a reader (or a crash) sees the old state or the new one."""
        temporary = f"{self.path}.{os.getpid()}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def __getitem__(self, key):
        return self.data[key]

    def __setitem__(self, key, value):
        self.data[key] = value

    @property
    def serving(self):
        return self.data["serving"]

    def serving_release(self):
        return self.data["releases"].get(self.serving) if self.serving else None

    def previous(self):
        """(index in the history, entry) of the release that served before the serving one and
        is still on the server, or None."""
        history, releases = self.data["history"], self.data["releases"]
        for index in reversed(range(len(history))):
            entry = history[index]
            if (
                entry["event"] == "deploy"
                and not entry.get("rolled_back")
                and entry["release"] != self.serving
                and entry["release"] in releases
            ):
                return index, entry
        return None

    def kept(self, keep):
        """The releases to keep: the last `keep` that served, the serving and the pending one."""
        recent = []
        for entry in reversed(self.data["history"]):
            if entry["event"] == "deploy" and not entry.get("rolled_back") and entry["release"] not in recent:
                recent.append(entry["release"])
        pending = (self.data["pending"] or {}).get("release")
        return set(recent[:keep]) | {name for name in (self.serving, pending) if name}

    def _record(self, entry):
        self.data["history"] = [*self.data["history"], entry][-HISTORY_KEEP:]

    def record_deploy(self, release, revision, by, seconds=None):
        info = self.data["releases"][release]
        self._record(
            {
                "event": "deploy",
                "release": release,
                "name": info["name"],
                "commit": info["commit"],
                "revision": revision,
                "at": now(),
                "by": by,
                "seconds": seconds or {},
            }
        )
        self.data["serving"] = release
        self.data["pending"] = None

    def record_restore(self, dump, revision, by):
        """A dump restored over the database (`release` names the dump), for the history."""
        self._record({"event": "restore", "release": dump, "revision": revision, "at": now(), "by": by})

    def record_failure(self, command, release, by, detail, seconds):
        """A release or rollback that failed (what serves is as the message says), for the history."""
        entry = {"event": "failed", "command": command, "release": release, "at": now(), "by": by}
        self._record({**entry, "detail": detail, "seconds": seconds})

    def record_rollback(self, index, by, seconds=None):
        """The entry at `index` serves again; the ones after it no longer count as served."""
        history = self.data["history"]
        left = self.serving
        for entry in history[index + 1 :]:
            if entry["event"] == "deploy":
                entry["rolled_back"] = True
        self.data["serving"] = history[index]["release"]
        self._record(
            {
                "event": "rollback",
                "release": self.serving,
                "left": left,
                "revision": history[index]["revision"],
                "at": now(),
                "by": by,
                "seconds": seconds or {},
            }
        )


PREBUILD = "prebuild"  # the command of a build ahead, which a release waits out longer


class LockTimeout(Exception):
    pass


class Lock:
    """One release transaction at a time, waiting at most `seconds` for the one running, or up to
    `ahead_seconds` for a prebuild (the deploy's own build, started while it does other work).
    The holder writes its command into the file, for those waiting to tell which it is."""

    def __init__(self, path, seconds, command="", ahead_seconds=0):
        self.path, self.seconds, self.command, self.ahead_seconds = path, seconds, command, ahead_seconds

    def __enter__(self):
        self.descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.ftruncate(self.descriptor, 0)
                os.pwrite(self.descriptor, self.command.encode(), 0)
                return self
            except BlockingIOError:
                ahead = os.pread(self.descriptor, 64, 0) == PREBUILD.encode()
                patience = max(self.seconds, self.ahead_seconds) if ahead else self.seconds
                if time.monotonic() - started >= patience:
                    holder = lock_holder(self.descriptor)
                    os.close(self.descriptor)
                    settings = "git_timeout_seconds + build_timeout_seconds" if ahead else "release_lock_seconds"
                    raise LockTimeout(
                        f"another release transaction holds {self.path}: {holder}. Waited "
                        f"{patience} s (setting {settings}): let it finish, or stop "
                        "that process, then deploy again."
                    ) from None
                time.sleep(0.2)

    def __exit__(self, *exc):
        os.close(self.descriptor)


def lock_holder(descriptor, proc="/proc"):
    """Who holds the flock on the open file `descriptor`, from the kernel's list of locks."""
    info = os.fstat(descriptor)
    wanted = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    with open(f"{proc}/locks") as handle:
        pids = [
            line.split()[4]
            for line in handle
            if len(line.split()) > 5 and line.split()[5] == wanted and line.split()[1] == "FLOCK"
        ]
    if not pids:
        return "a process that has just let it go"
    return describe_process(int(pids[0]), proc)


def describe_process(pid, proc="/proc"):
    try:
        with open(f"{proc}/{pid}/cmdline", "rb") as handle:
            command = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        with open(f"{proc}/{pid}/stat") as handle:
            started_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open(f"{proc}/stat") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return f"process {pid}"
    started = boot + started_ticks / os.sysconf("SC_CLK_TCK")
    since = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"process {pid} ({visible(command[:200])}), running since {since} ({int(time.time() - started)} s ago)"
