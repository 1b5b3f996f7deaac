"""The app's database, reached as the app's own MariaDB user, with the credentials of root's
/etc/<app>/mysql-client.cnf, never of the app user's files. What the app's database holds is the
app's (untrusted): root's queries print it as data, table names hex-encoded and quoted before use,
and root's mariadb-dump writes it to a file. A dump is SQL the app shaped, so it is never read by
a client running as root: the client that restores one runs as the app user, with its own
commands off (--binary-mode, --sandbox), its credentials handed to it on a pipe."""

import contextlib
import gzip
import hashlib
import os
import pwd
import re
import subprocess
import threading
from subprocess import PIPE

from .run import Failed
from .state import now
from .text import visible

DUMP_END = b"-- Dump completed"
DUMP_NAME = re.compile(r"^\d{6}-\d{8}T\d{6}Z-[A-Za-z0-9._~+-]{1,120}\.sql\.gz$")
NIGHTLY = "nightly"  # the label of the timer's dumps, kept by a count of their own
DUMP_OPTIONS = ("--single-transaction", "--routines", "--triggers", "--no-tablespaces", "--hex-blob")
REVISION = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def quote_name(name):
    return "`" + name.replace("`", "``") + "`"


class Database:
    def __init__(self, runner, state, config, name=None, client_file=None):
        """The app's database, or (`name`, `client_file`) another one: the restore drill's."""
        self.runner, self.state, self.config, self.paths = runner, state, config, config.paths
        self.name, self.client_file = name or config.db_name, client_file or config.paths.db_client_file
        self.taken = None  # called with each dump's record and label once it is taken (off-site copies)

    def client(self, program="mariadb"):
        return [program, f"--defaults-extra-file={self.client_file}"]

    def query(self, sql, what="a query of the database"):
        argv = [*self.client(), "--sandbox", "--batch", "--skip-column-names", "-e", sql, self.name]
        output = self.runner.run(argv, what=what, timeout=60, capture=True).out
        return output.decode(errors="replace").splitlines()

    def tables(self):
        """{name: "BASE TABLE" or "VIEW"} of the app's database."""
        lines = self.query(
            "SELECT HEX(TABLE_NAME), TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        )
        return {bytes.fromhex(line.split("\t")[0]).decode(): line.split("\t")[1] for line in lines if "\t" in line}

    def revision(self, tables=None):
        """The alembic revision, or None (no table, or nothing a revision can be)."""
        if "alembic_version" not in (tables if tables is not None else self.tables()):
            return None
        lines = self.query("SELECT version_num FROM alembic_version")
        return lines[0] if len(lines) == 1 and REVISION.match(lines[0]) else None

    def snapshot(self):
        """What a migration may change: the revision, and each table's definition."""
        tables = self.tables()
        fingerprints = {}
        if tables:
            lines = self.query("".join(f"SHOW CREATE TABLE {quote_name(name)};" for name in sorted(tables)))
            for name, line in zip(sorted(tables), lines, strict=False):
                definition = re.sub(r" AUTO_INCREMENT=\d+", "", line.split("\t", 1)[-1])
                fingerprints[name] = hashlib.sha256(definition.encode()).hexdigest()[:16]
        return {"revision": self.revision(tables), "tables": fingerprints}

    def drop(self, names):
        tables = self.tables()
        statements = "".join(
            f"DROP {'VIEW' if tables.get(name) == 'VIEW' else 'TABLE'} IF EXISTS {quote_name(name)};" for name in names
        )
        if statements:
            self.query(statements, what=f"dropping {', '.join(sorted(names))}")

    def dump(self, label, copied=True):
        """A dump of the database (gzip, 0600), checked complete, then copied off-site (`taken`,
        unless not `copied`); returns its record. One that cannot be taken (tables locked past
        lock_wait_timeout, a full disk) fails, saying why."""
        self.state["dump_seq"] += 1
        self.state.save()
        stamp = now().replace("-", "").replace(":", "")
        path = f"{self.paths.backup_dir}/{self.state['dump_seq']:06d}-{stamp}-{label}.sql.gz"
        argv = [*self.client("mariadb-dump"), *DUMP_OPTIONS, self.name]
        watchdog = None
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with (
                os.fdopen(descriptor, "wb") as raw,
                gzip.GzipFile(fileobj=raw, mode="wb") as packed,
                subprocess.Popen(argv, stdout=PIPE, stderr=PIPE, stdin=subprocess.DEVNULL, cwd="/") as process,
            ):
                watchdog = threading.Timer(self.config.migrate_timeout_seconds, process.kill)
                watchdog.start()
                for chunk in iter(lambda: process.stdout.read(65536), b""):
                    packed.write(chunk)
                error = visible(process.stderr.read().decode(errors="replace").strip())
        except OSError as failure:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            raise Failed(f"the database backup to {path} failed ({failure.strerror or failure})") from None
        finally:
            if watchdog:
                watchdog.cancel()
        if process.returncode != 0:
            os.unlink(path)
            if process.returncode == -9:
                error = f"it took longer than {self.config.migrate_timeout_seconds} s (setting migrate_timeout_seconds)"
            raise Failed(f"the database backup failed ({error or 'mariadb-dump exited ' + str(process.returncode)})")
        record = self.record(path)
        problem = self.unusable(record)
        if problem:
            raise Failed(f"the database backup {path} is {problem}")
        self.rotate(keep=path)
        if copied and self.taken:
            self.taken(record, label)
        return record

    @staticmethod
    def record(path):
        return {"path": path, "sha256": _sha256(path), "size": os.path.getsize(path)}

    def unusable(self, dump):
        """Why the dump cannot be restored (missing, changed, truncated), or None."""
        try:
            if _sha256(dump["path"]) != dump["sha256"]:
                return "not the file that was written (changed or truncated since)"
            with gzip.open(dump["path"], "rb") as packed:
                tail = b""
                for chunk in iter(lambda: packed.read(65536), b""):
                    tail = (tail + chunk)[-4096:]
        except FileNotFoundError:
            return "missing"
        except (OSError, EOFError) as error:
            return f"unreadable ({error})"
        lines = tail.rstrip().splitlines()
        return None if lines and lines[-1].startswith(DUMP_END) else "incomplete (no end marker)"

    def load(self, dump):
        """The tables of the dump, restored over the database (others are left as they are), by a
        client of the app user's that takes the dump as SQL alone."""
        credentials = self.credentials_for(self.config.app_user)
        # --defaults-file: that file alone, none of the app user's
        client = ["mariadb", f"--defaults-file=/dev/fd/{credentials}", "--binary-mode", "--sandbox", "--batch"]
        try:
            with subprocess.Popen(["gzip", "-dc", dump["path"]], stdout=subprocess.PIPE, cwd="/") as unpacked:
                self.runner.run(
                    [*client, self.name],
                    user=self.config.app_user,
                    stdin=unpacked.stdout,
                    pass_fds=(credentials,),
                    what=f"restoring from {dump['path']}",
                    timeout=self.config.migrate_timeout_seconds,
                    capture=True,
                )
        finally:
            os.close(credentials)

    def counts(self):
        """{table: rows} of the database's tables (views aside)."""
        tables = sorted(name for name, kind in self.tables().items() if kind == "BASE TABLE")
        if not tables:
            return {}
        sql = "".join(f"SELECT COUNT(*) FROM {quote_name(name)};" for name in tables)  # noqa: S608 (quoted)
        lines = self.query(sql, what="counting the rows of each table")
        return dict(zip(tables, (int(line) for line in lines), strict=True))

    def empty(self):
        """Every table and view of the database dropped (the restore drill's, before and after)."""
        self.drop(self.tables())

    def credentials_for(self, user):
        """Root's client file, on a pipe that `user` may open: the descriptor to read it from."""
        with open(self.client_file, "rb") as handle:
            text = handle.read()
        read, write = os.pipe()
        account = pwd.getpwnam(user)
        os.fchown(read, account.pw_uid, account.pw_gid)
        os.write(write, text)
        os.close(write)
        return read

    def dumps(self):
        """The names of the dumps in the backup folder, oldest first (by their sequence number)."""
        return sorted(name for name in os.listdir(self.paths.backup_dir) if DUMP_NAME.match(name))

    def rotate(self, keep):
        """The newest `backups_nightly_keep` nightly dumps stay, and the newest `backups_keep`
        others (by their sequence number, not the clock); always `keep`, the one just taken."""
        dumps = self.dumps()
        nightly = [name for name in dumps if name.endswith(f"-{NIGHTLY}.sql.gz")]
        others = [name for name in dumps if name not in nightly]
        old = nightly[: -max(1, self.config.backups_nightly_keep)] + others[: -max(1, self.config.backups_keep)]
        for name in old:
            if f"{self.paths.backup_dir}/{name}" != keep:
                os.unlink(f"{self.paths.backup_dir}/{name}")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()
