"""Off-site copies, with restic: each dump becomes a snapshot of the repository of root's
release-secrets.env, tagged with the app, the release and why it was taken, with root's secrets
(so a rebuilt server keeps them) and the app's `backup_paths`; a restore takes them back onto this
server, or a fresh one; the nightly drill restores the newest into a scratch database.

restic runs as root, its repository, password and credentials in its environment alone. What the
app user owns never passes through root as files: its folders are archived by `tar` as the app
user (into root's file, from its standard output) and unpacked by `tar` as the app user, so root
neither follows nor reads anything of theirs; a dump is restored by the app user's client."""

import contextlib
import json
import os
import shutil

from .app_env import parse
from .run import Failed
from .state import now


class Offsite:
    def __init__(self, runner, config, database):
        self.runner, self.config, self.database, self.paths = runner, config, database, config.paths
        self.staging = f"{self.paths.state_dir}/offsite"  # root's: what a snapshot holds beside the dump

    # --- restic -------------------------------------------------------------------------------------

    def secrets(self):
        with open(self.paths.program_secrets) as handle:
            return {name: value for name, value in parse(handle.read()).items() if name != "ALERT_URL"}

    def redact(self, text, secrets):
        """`text` (restic's words) with no value of `secrets` in it."""
        for value in secrets.values():
            if len(value) >= 4:
                text = text.replace(value, "***")
        return text

    def restic(self, *args, what, capture=True, check=True, to=None):
        secrets = self.secrets()
        cache = f"/var/cache/{self.config.app_name}-restic"
        os.makedirs(cache, mode=0o700, exist_ok=True)
        try:
            return self.runner.run(
                ["restic", "--quiet", *self.config.restic_options, *args],
                what=what,
                timeout=self.config.migrate_timeout_seconds,
                env={**secrets, "RESTIC_CACHE_DIR": cache},
                capture=capture,
                check=check,
                to=to,
            )
        except Failed as error:
            raise Failed(self.redact(str(error), secrets)) from None

    def ready(self):
        """The repository answers with this password; made when there is none yet."""
        found = self.restic("cat", "config", what="reaching the off-site repository", check=False)
        if found.code == 0:
            return "the off-site repository answers"
        error = self.redact(found.err.decode(errors="replace"), self.secrets())
        if "Is there a repository at the following location?" in error or "does not exist" in error:
            self.restic("init", what="making the off-site repository")
            return "the off-site repository is made"
        if "wrong password" in error:
            raise Failed("the off-site repository refuses its password (BACKUP_PASSWORD): it is another's, or changed")
        raise Failed(f"the off-site repository does not answer ({error.strip().splitlines()[-1] if error else ''})")

    def snapshots(self):
        """The app's snapshots, oldest first: {id, time, host, tags: {app, why, release}, paths}."""
        out = self.restic("snapshots", "--json", "--tag", f"app={self.config.app_name}", what="listing snapshots").out
        found = []
        for snapshot in json.loads(out or b"[]") or []:
            tags = dict(tag.split("=", 1) for tag in snapshot.get("tags") or () if "=" in tag)
            found.append({key: snapshot.get(key) for key in ("short_id", "id", "time", "hostname", "paths")})
            found[-1]["tags"] = tags
        return sorted(found, key=lambda snapshot: snapshot["time"])

    # --- copies -------------------------------------------------------------------------------------

    def copy(self, dump, why, release, counts=None):
        """The dump `dump` (a Database record) off-site, with the secrets, `counts` (the rows of its
        tables, from the drill) and the app's folders; returns the snapshot's id."""
        shutil.rmtree(self.staging, ignore_errors=True)
        os.makedirs(self.staging, mode=0o700)
        files = [dump["path"], self.paths.secrets_file]
        if counts is not None:
            files.append(self.write_json("counts.json", {"dump": os.path.basename(dump["path"]), "counts": counts}))
        if self.config.offsite_paths:
            files.append(self.archive_paths())
        tags = [f"app={self.config.app_name}", f"why={why}", f"release={release or 'none'}"]
        host = ("--host", self.config.offsite_host)
        out = self.restic(
            "backup", "--json", *host, *(f"--tag={tag}" for tag in tags), *files, what="the off-site copy"
        ).out
        summary = [json.loads(line) for line in out.splitlines() if b'"summary"' in line]
        return summary[-1]["snapshot_id"][:8] if summary else "?"

    def write_json(self, name, value):
        path = f"{self.staging}/{name}"
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "w") as handle:
            json.dump(value, handle, sort_keys=True)
        return path

    def as_app(self, *argv, what, **kwargs):
        kwargs.setdefault("timeout", self.config.migrate_timeout_seconds)
        return self.runner.run(list(argv), what=what, user=self.config.app_user, **kwargs)

    def folders(self):
        """`backup_paths`, relative to the app's shared folder (where tar runs)."""
        return [path[len(self.paths.shared) + 1 :] for path in self.config.offsite_paths]

    def archive_paths(self):
        """The app's `backup_paths` as one tar file of root's, made by tar as the app user."""
        shared = self.paths.shared
        present = [folder for folder in self.folders() if self.is_there(f"{shared}/{folder}")]
        path = f"{self.staging}/paths.tar"
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb") as handle:
            what = present or ["-T", "/dev/null"]  # an empty archive: no folder is there yet
            self.as_app(
                "tar", "-c", "-f", "-", "-C", shared, *what, what="archiving backup_paths", capture=True, to=handle
            )
        return path

    # --- back -----------------------------------------------------------------------------------------

    def chosen(self, snapshot):
        """The snapshot `snapshot` (an id, or `latest`: the newest but the copies a restore takes first)."""
        snapshots = self.snapshots()
        if snapshot == "latest":
            taken = [found for found in snapshots if found["tags"].get("why") != "before-restore"]
            if not taken:
                raise Failed(f"the off-site repository holds no snapshot of {self.config.app_name} yet")
            return taken[-1]
        for found in snapshots:
            if snapshot in (found["short_id"], found["id"]):
                return found
        raise Failed(f"no off-site snapshot {snapshot!r} of {self.config.app_name}: `make backups` lists them")

    def fetch(self, snapshot, ending):
        """The file of `snapshot` whose path ends with `ending`, into root's staging; its path, or None."""
        wanted = [path for path in snapshot["paths"] if path.endswith(ending)]
        if not wanted:
            return None
        path = f"{self.paths.restore_staging}/{os.path.basename(wanted[0])}"
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600), "wb") as handle:
            self.restic("dump", snapshot["id"], wanted[0], what=f"fetching {os.path.basename(wanted[0])}", to=handle)
        return path

    def fetch_all(self, snapshot):
        """(dump, counts, paths.tar, secrets.env) of `snapshot`, in root's staging (counts read)."""
        shutil.rmtree(self.paths.restore_staging, ignore_errors=True)
        os.makedirs(self.paths.restore_staging, mode=0o700)
        dump = self.fetch(snapshot, ".sql.gz")
        if not dump:
            raise Failed(f"the snapshot {snapshot['short_id']} holds no dump")
        counts = self.fetch(snapshot, "/counts.json")
        if counts:
            with open(counts) as handle:
                counts = json.load(handle)["counts"]
        return dump, counts, self.fetch(snapshot, "/paths.tar"), self.fetch(snapshot, "/secrets.env")

    def clean(self):
        """What a restore or a drill took from the repository, gone."""
        shutil.rmtree(self.paths.restore_staging, ignore_errors=True)

    def unpack_paths(self, archive):
        """The app's `backup_paths` from `archive`, by tar as the app user; what was there is kept
        beside as <folder>.before-restore."""
        for folder in self.folders():
            here, aside = f"{self.paths.shared}/{folder}", f"{self.paths.shared}/{folder}.before-restore"
            self.as_app("rm", "-rf", "--", aside, what="removing what an earlier restore kept aside")
            if self.is_there(here):
                self.as_app("mv", "-T", "--", here, aside, what="keeping backup_paths aside")
        with open(archive, "rb") as handle:
            unpack = ("tar", "-x", "-f", "-", "-C", self.paths.shared, "--no-same-owner")
            self.as_app(*unpack, what="unpacking backup_paths", stdin=handle, capture=True)

    def is_there(self, path):
        """Whether the app user sees something at `path` (root looks at nothing of theirs)."""
        return self.as_app("test", "-e", path, what="looking for " + path, check=False).code == 0

    def forget(self):
        """`backup_offsite_keep` applied to the app's snapshots, when the repository lets this
        server delete; what it says otherwise (an append-only one: the operator's machine does it)."""
        keep = [
            argument for kind, count in self.config.backup_offsite_keep for argument in (f"--keep-{kind}", str(count))
        ]
        mine = ("--tag", f"app={self.config.app_name}", "--group-by", "host")
        found = self.restic("forget", *mine, *keep, "--prune", what="forgetting old snapshots", check=False)
        if found.code == 0:
            return "applied here"
        return "not applied here (the repository keeps every snapshot: append-only?); `make offsite-forget` applies it"


class Record:
    """Root's record of the last off-site copy, drill and retention (offsite.json), for `report`."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path) as handle:
                self.data = json.load(handle)
        except (OSError, ValueError):
            self.data = {}
        self.data.setdefault("since", now())

    def note(self, kind, failure=None, **details):
        self.data[kind] = {"at": now(), "ok": failure is None, "detail": failure, **details}
        if failure is None:
            self.data[f"{kind}_ok_at"] = self.data[kind]["at"]
        descriptor = os.open(f"{self.path}.next", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(self.data, handle, sort_keys=True)
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{self.path}.next", self.path)
