"""Backups on demand and by the nightly timer, and a restore of one: each a dump of the app's
database like the one a release takes before its migration, in root's backup folder. What the
nightly one last did is kept, so that one that failed (tables locked, a full disk) makes the
host's report unhealthy instead of passing unseen."""

import json
import os
import time

from .alerts import alert
from .database import DUMP_NAME, NIGHTLY, Database
from .identity import Refused
from .offsite import Record
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
    def __init__(self, runner, database, config, state, offsite=None):
        self.runner, self.database, self.config, self.state = runner, database, config, state
        self.folder, self.offsite = config.paths.backup_dir, offsite
        self.record = Record(config.paths.offsite_record) if offsite else None
        # the restore drill's scratch database, reached as its own user
        self.drill = Database(runner, state, config, config.drill_db, config.paths.drill_client_file)
        if offsite:
            database.taken = self.copied

    def take(self, nightly=False):
        """A dump now; a nightly one, with off-site copies, also copied (a failure fails it),
        drilled and the retention applied."""
        record = self.database.dump(NIGHTLY if nightly else "backup", copied=not nightly)
        self.runner.say(f"database backed up to {record['path']} ({record['size']} bytes)")
        if nightly and self.offsite:
            self.nightly_offsite(record)
        return record

    def copied(self, record, label):
        """A dump just taken (`label`: backup, before-restore, or the release it was taken for), off-site."""
        why = label if label in ("backup", "before-restore", NIGHTLY) else "release"
        try:
            snapshot = self.offsite.copy(record, why, self.state.serving)
        except Failed as error:
            self.record.note("copy", str(error))
            alert(self.runner, self.config, "offsite-copy-failed", str(error), self.state.serving)
            self.runner.say(f"{error}: the dump stays in {self.folder} alone; this goes on")
            return
        self.record.note("copy", snapshot=snapshot)
        self.runner.say(f"copied off-site: snapshot {snapshot}")

    def nightly_offsite(self, record):
        """The nightly dump off-site, with the row counts of its tables (when the drill has a
        scratch database: the dump loaded there); then that snapshot taken back from the repository
        and loaded into the scratch database, which must hold the same; then the retention."""
        counts = self.counts_of(record["path"]) if self.config.drill else None
        try:
            snapshot = self.offsite.copy(record, NIGHTLY, self.state.serving, counts)
        except Failed as error:
            self.record.note("copy", str(error))
            raise
        self.record.note("copy", snapshot=snapshot)
        self.runner.say(f"copied off-site: snapshot {snapshot}")
        if self.config.drill:
            try:
                self.drilled(snapshot, record, counts)
            except Failed as error:
                self.record.note("drill", str(error), snapshot=snapshot)
                raise Failed(f"the restore drill of snapshot {snapshot} failed: {error}") from None
            self.record.note("drill", snapshot=snapshot, tables=len(counts))
            self.runner.say(f"restore drill: snapshot {snapshot} restores {len(counts)} tables, their rows as dumped")
        self.record.note("retention", result=self.offsite.forget())

    def counts_of(self, path):
        """{table: rows} of the dump at `path`, loaded into the scratch database (emptied again)."""
        self.drill.empty()
        try:
            self.drill.load(self.drill.record(path))
            return self.drill.counts()
        finally:
            self.drill.empty()

    def drilled(self, snapshot, record, counts):
        """Snapshot `snapshot` back from the repository: the same dump, restoring the same rows."""
        try:
            dump, kept_counts, _, _ = self.offsite.fetch_all(self.offsite.chosen(snapshot))
            if self.drill.record(dump)["sha256"] != record["sha256"]:
                raise Failed("the dump in the repository is not the one copied")
            restored = self.counts_of(dump)
        finally:
            self.offsite.clean()
        if restored != counts or kept_counts != counts:
            missing = sorted(set(counts) - set(restored))
            raise Failed(f"it restores other tables or rows (missing: {', '.join(missing) or 'none'})")

    def restore_snapshot(self, snapshot):
        """The off-site snapshot `snapshot` (an id, or latest) restored: the database (after a dump of
        it as it is), the app's `backup_paths` and root's secrets, which a deploy then applies.
        Returns (what the history names it by, the revision)."""
        if not self.offsite:
            raise Refused("this host copies nothing off-site (setting backup_repository): there is no snapshot here.")
        chosen = self.offsite.chosen(snapshot)
        self.runner.say(f"restoring snapshot {chosen['short_id']} of {chosen['time'][:19]} ({chosen['tags']})")
        try:
            dump, _, archive, secrets = self.offsite.fetch_all(chosen)
            problem = self.database.unusable(self.database.record(dump))
            if problem:
                raise Failed(f"the dump of snapshot {chosen['short_id']} is {problem}: the database was not touched.")
            self.load_over(self.database.record(dump))
            if archive and self.config.offsite_paths:
                self.offsite.unpack_paths(archive)
                self.runner.say("backup_paths restored (what was there is kept as <folder>.before-restore)")
            if secrets and self.install_secrets(secrets):
                self.runner.say("the snapshot's secrets are back in root's copy: the deploy that follows applies them")
        finally:
            self.offsite.clean()
        return f"snapshot {chosen['short_id']}", self.database.revision()

    def install_secrets(self, staged):
        """Root's copy of the secrets replaced by `staged` (root's file from the snapshot); whether it changed."""
        with open(staged, "rb") as handle:
            text = handle.read()
        with open(self.config.paths.secrets_file, "rb") as handle:
            if handle.read() == text:
                return False
        target = self.config.paths.secrets_file
        with open(os.open(f"{target}.next", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600), "wb") as out:
            out.write(text)
        os.replace(f"{target}.next", target)
        return True

    def load_over(self, chosen):
        """The dump `chosen` loaded over the database, after a dump of the database as it is."""
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
        self.load_over(chosen)
        revision = self.database.revision()
        self.runner.say(f"database restored from {chosen['path']} (revision {revision or 'none'})")
        return os.path.basename(chosen["path"]), revision
