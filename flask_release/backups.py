"""Backups on demand and by the nightly timer, and a restore of one: each a dump of the app's
database like the one a release takes before its migration, in root's backup folder. What the
nightly one last did is kept, so that one that failed (tables locked, a full disk) makes the
host's report unhealthy instead of passing unseen."""

import json
import os
import time

from .database import DUMP_NAME, NIGHTLY
from .identity import Refused
from .run import Failed
from .state import now


def record_nightly(path, failure=None):
    """Root's record (`path`) of the nightly backup that just ran: done, or why it failed."""
    descriptor = os.open(f"{path}.next", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"at": now(), "ok": failure is None, "detail": failure}, handle)
    os.replace(f"{path}.next", path)


def last_nightly(path):
    """{"at", "ok", "detail"} of the last nightly backup, or None when none ran yet."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


class Backups:
    def __init__(self, runner, database, config):
        self.runner, self.database, self.folder = runner, database, config.paths.backup_dir

    def take(self, nightly=False):
        record = self.database.dump(NIGHTLY if nightly else "backup")
        self.runner.say(f"database backed up to {record['path']} ({record['size']} bytes)")
        return record

    def listing(self):
        """Each dump kept, oldest first: its name, size and age in seconds."""
        found = []
        for name in self.database.dumps():
            info = os.stat(f"{self.folder}/{name}")
            found.append({"name": name, "size": info.st_size, "age_seconds": int(time.time() - info.st_mtime)})
        return found

    def restore(self, name=None):
        """The dump `name` (default: the newest) restored over the database, after a backup of the
        database as it is now, so the restore itself can be undone."""
        dumps = self.database.dumps()
        if name is not None and (not DUMP_NAME.match(name) or name not in dumps):
            raise Refused(f"no dump named {name!r} in {self.folder}: `make backups` lists them.")
        if not dumps:
            raise Refused(f"no dump in {self.folder} to restore: `make backup` takes one.")
        chosen = self.database.record(f"{self.folder}/{name or dumps[-1]}")
        problem = self.database.unusable(chosen)
        if problem:
            raise Failed(f"the dump {chosen['path']} is {problem}: the database was not touched.")
        before = self.database.dump("before-restore")
        self.runner.say(f"the database as it was is in {before['path']}")
        try:
            self.database.load(chosen)
        except Failed as error:
            name = os.path.basename(before["path"])
            raise Failed(
                f"{error}: the restore stopped part way. The database as it was before it is in {before['path']} "
                f"(make restore DUMP={name})."
            ) from None
        revision = self.database.revision()
        self.runner.say(f"database restored from {chosen['path']} (revision {revision or 'none'})")
        return os.path.basename(chosen["path"]), revision
