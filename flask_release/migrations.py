"""The app's schema moved by its own migrations (`flask db`, as the app user), and brought back
when a migration fails: by the release's own downgrade, then by dropping the tables it made; only
tables it changed come back from the dump, once the dump is verified, so no more is lost than
the failed migration touched."""

from .database import REVISION
from .run import Failed, Interrupted, shielded

# The revisions `flask db upgrade` would apply (above the database's, argv[1]) whose migration
# script says `backward_compatible = False`: alembic reads them in the release's venv, as the app user.
BREAKING_CHECK = (
    "import sys; from alembic.config import Config; from alembic.script import ScriptDirectory; "
    "config = Config(); config.set_main_option('script_location', 'migrations'); "
    "script = ScriptDirectory.from_config(config); "
    "[print(script.revision) for script in script.iterate_revisions('heads', sys.argv[1] or 'base') "
    "if getattr(script.module, 'backward_compatible', True) is False]"
)


class Migrations:
    def __init__(self, runner, database, builder, config):
        self.runner, self.database, self.builder, self.config = runner, database, builder, config
        self.say = runner.say

    def present(self, release):
        """Whether `release` is migrated: `migrations` on, or auto and it has Flask-Migrate's
        migrations/env.py."""
        if self.config.migrations != "auto":
            return self.config.migrations == "on"
        env_py = f"{self.builder.folder(release)}/migrations/env.py"
        return self.builder.as_build("test", "-f", env_py, what="test", check=False).code == 0

    def upgrade(self, release):
        """`flask db upgrade` of the release, when it is migrated; says so when it is not."""
        if self.present(release):
            self.flask(release, "db", "upgrade")
        elif self.config.migrations == "off":
            self.say("migrations = off: the schema stays as it is")
        else:
            self.say(f"{release} has no migrations/env.py (migrations = auto): the schema stays as it is")

    def breaking(self, release):
        """The revisions the migration of `release` would apply that are marked as not backward
        compatible (the serving release cannot run on them): the site goes into maintenance
        around such a migration, with `maintenance_for_breaking_migrations`."""
        if not self.config.maintenance_for_breaking_migrations or not self.present(release):
            return []
        folder = self.builder.folder(release)
        check = [f"{folder}/venv/bin/python3", "-c", BREAKING_CHECK, self.database.revision() or ""]
        result = self.runner.run(
            [self.config.paths.program, "app-exec", *check],
            what="reading which migrations are backward compatible",
            timeout=120,
            user=self.config.app_user,
            cwd=folder,
            capture=True,
            check=False,
        )
        lines = result.out.decode(errors="replace").split()
        if result.code != 0 or not all(REVISION.match(line) for line in lines):
            self.say(f"which migrations of {release} are backward compatible is unknown: no maintenance for them")
            return []
        return lines

    def flask(self, release, *args):
        folder = self.builder.folder(release)
        self.runner.run(
            [self.config.paths.program, "app-exec", f"{folder}/venv/bin/python3", "-m", "flask", *args],
            what=f"flask {' '.join(args)}",
            timeout=self.config.migrate_timeout_seconds,
            user=self.config.app_user,
            cwd=folder,
            env={"FLASK_APP": self.config.flask_app},
        )

    def undo(self, release, before, dump, serving):
        """The database back as `before` (a Database.snapshot) after a migration of `release`
        failed; `dump` was taken before it, `serving` is what serves meanwhile."""
        revision = before["revision"]
        if self.database.revision() != revision and revision:
            try:
                self.flask(release, "db", "downgrade", revision)
            except Failed as error:
                self.say(f"the downgrade to {revision} failed ({error})")
        self.drop_made(before)
        now = self.database.snapshot()
        if now == before:
            self.say(f"database back at revision {revision or 'none'}")
            return
        changed = sorted(
            name for name, fingerprint in before["tables"].items() if now["tables"].get(name) != fingerprint
        )
        problem = "missing" if dump is None else self.database.unusable(dump)
        if problem:
            where = dump["path"] if dump else f"no dump (nothing served before {release})"
            raise Failed(
                f"the migration of {release} left the database changed (revision {now['revision']}, tables "
                f"{', '.join(changed) or 'none'}), and the dump {where} is {problem}: the database was NOT "
                f"restored and nothing in it was dropped but what the migration made. Restore it by hand "
                f"from a good dump in {self.config.paths.backup_dir}, or fix forward. "
                + (f"{serving} serves." if serving else "No release serves yet.")
            )
        self.say(f"restoring {', '.join(changed) or 'the revision'} from {dump['path']}")
        self.database.load(dump)
        self.drop_made(before)
        if self.database.snapshot() != before:
            raise Failed(f"restoring {dump['path']} did not bring the database back as it was: restore it by hand.")

    def drop_made(self, before):
        made = sorted(name for name in self.database.tables() if name not in before["tables"])
        if made:
            self.say(f"dropping what the migration made: {', '.join(made)}")
            self.database.drop(made)

    def downgrade(self, newer, revision, serving):
        """The database at `revision`, by the migrations of release `newer` (the older release
        does not know them), after a dump; back as it was when that fails."""
        before = self.database.snapshot()
        dump = self.database.dump(newer)
        self.say(f"database backed up to {dump['path']}")
        if before["revision"] == revision:
            return
        try:
            self.flask(newer, "db", "downgrade", revision or "base")
        except (Failed, Interrupted):
            with shielded():
                self.undo(newer, before, dump, serving)
            raise Failed(
                f"downgrading the database to {revision} failed; it is back as it was and {serving} still serves."
            ) from None
