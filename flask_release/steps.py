"""The steps of a release, each recorded in the journal before it changes anything, so that an
interrupted one is undone by the next run:

  build     the release beside the serving one, and a check that its app loads
  migrate   a verified dump of the database, then `flask db upgrade`; undone when it fails
  switch    `current` to the release, a graceful reload, the health check; back when it fails
  rollback  the database down to the previous release's revision, then the switch back
"""

import os
import time

from . import nginx
from .backups import Backups
from .build import Builder
from .database import Database
from .hooks import Hooks
from .identity import Refused, check_not_older, resolve, same_release
from .migrations import Migrations
from .offsite import Offsite
from .run import Failed, Interrupted, shielded
from .service import Service
from .source import Source
from .state import now
from .switch import Switch


def still_serves(release):
    """What serves meanwhile, in a message: a release, or none yet before the first."""
    return f"{release} still serves" if release else "no release serves yet"


class Steps:
    def __init__(self, config, runner, state, by):
        self.config, self.runner, self.state, self.by, self.paths = config, runner, state, by, config.paths
        self.source = Source(runner, config)
        self.builder = Builder(runner, self.source, state, config)
        self.database = Database(runner, state, config)
        self.service = Service(runner, config)
        self.migrations = Migrations(runner, self.database, self.builder, config)
        self.switcher = Switch(runner, state, self.builder, self.service, self.paths)
        self.hooks = Hooks(runner, self.builder, config)
        self.offsite = Offsite(runner, config, self.database) if config.offsite else None
        self.backups = Backups(runner, self.database, config, state, self.offsite)
        self.say = runner.say
        self.started, self.marks = time.monotonic(), []
        self.attempt = None  # the release this run tries to serve, for the history when it fails

    # --- what to deploy ------------------------------------------------------------------------

    def target(self, fetch=False, ref=None, commit=None):
        if fetch:
            self.source.fetch(self.config.repo_url)
        target = resolve(self.source.refs(), ref or self.config.ref)
        if commit and commit != target.commit:
            raise Refused(
                f"{target.ref} is at {target.commit[:12]} in the server's repository, not at {commit[:12]} "
                "as the deploy planned (the repository moved meanwhile): deploy again."
            )
        if not self.config.ref:
            check_not_older(target, self.state.serving_release())
        return target

    def serves(self, target):
        return same_release(self.state.serving_release(), target, self.config.pip_key)

    def seconds(self):
        """How long each step of this run took (and the whole run), for the history."""
        marks = [*self.marks, ("end", time.monotonic())]
        taken = {step: round(later - earlier, 1) for (step, earlier), (_, later) in zip(marks, marks[1:], strict=False)}
        return {**taken, "total": round(marks[-1][1] - self.started, 1)}

    def journal(self, step, **details):
        if step:
            self.marks.append((step, time.monotonic()))
        self.state["journal"] = {"step": step, "at": now(), **details} if step else None
        self.state.save()

    # --- the steps --------------------------------------------------------------------------------

    def build(self, target):
        """Builds and checks the release of `target`; it waits as `pending` for its switch."""
        previous = self.state.serving
        self.attempt = target.name
        self.journal("build", release=target.name)
        try:
            release = self.builder.build(target)
        except Failed as error:
            message = f"building release {target.name} failed ({error}); {still_serves(previous)}."
            raise Failed(message) from None
        if (self.state["pending"] or {}).get("release") == release:  # built and checked by the build phase
            self.journal(None)
            return release
        try:
            self.builder.check_imports(release)
        except Failed:
            raise Failed(
                f"the app of {release} does not load (see the errors above); {still_serves(previous)}."
            ) from None
        try:
            self.hooks.run("before_migrate", release)
        except Failed as error:
            raise Failed(f"{release} is not released: {error}; {still_serves(previous)}.") from None
        holder = self.service.foreign_listener(self.switcher.next_color)
        if holder:  # before the migration: the release could not start
            raise Failed(f"{release} is not released: {holder}; {still_serves(previous)}.")
        breaking = self.migrations.breaking(release)
        self.state["pending"] = {"release": release, "previous": previous, "breaking": breaking}
        self.journal(None)
        return release

    def migrate(self, phase=False):
        """Backs the database up and migrates it for the pending release; a failed migration is
        undone. Returns what the undo of a later step needs. Alone (`phase`, several app hosts),
        the migration then stands: the hosts switch to it one by one. In one go, on a host whose
        nginx serves the site, migrations marked as not backward compatible run with the site in
        maintenance until the switch (the deploy does that for web hosts elsewhere)."""
        release, previous = self.pending()
        try:
            before = self.database.snapshot()
            dump = self.database.dump(previous) if previous else None
        except Failed as error:  # tables the app's database user locked, a full disk: nothing changed yet
            raise Failed(f"the migration of {release} did not run: {error}; {still_serves(previous)}.") from None
        if dump:
            self.say(f"database backed up to {dump['path']}")
        breaking = self.state["pending"].get("breaking") if previous and not phase else None
        maintenance = bool(breaking and self.config.maintenance_link) and self.maintenance(True)
        if maintenance:
            self.say(f"the site is in maintenance: migration {', '.join(breaking)} is not backward compatible")
        undo = {"before": before, "dump": dump, "maintenance": maintenance}
        self.journal("migrate", release=release, previous=previous, undo=undo)
        try:
            self.migrations.upgrade(release)
        except (Failed, Interrupted) as error:
            with shielded():
                self.migrations.undo(release, before, dump, previous)
                self.end_maintenance(undo)
                self.journal(None)
            if isinstance(error, Interrupted):
                raise
            raise Failed(
                f"the migration of {release} failed (flask db upgrade, errors above); the database is back "
                f"as it was and {still_serves(previous)}."
            ) from None
        if phase:
            self.journal(None)
        return undo

    def switch(self, undo=None):
        """Serves the pending release (blue-green); when it fails its health check the live color
        keeps serving, and with `undo` (from migrate) the schema goes back too."""
        release, previous = self.pending()
        self.attempt = release
        self.journal("switch", release=release, previous=previous, undo=undo)
        try:
            healthy, detail = self.switcher.serve(release)
            failure = f"failed its health check ({detail})"
        except Interrupted:
            healthy, failure = False, "was interrupted"
        if healthy and self.config.hooks_after_switch:
            try:
                self.hooks.run("after_switch", release)
            except Failed as error:
                healthy, failure = False, f"failed: {error}"
                if previous:  # the release that served before, started again and switched back to
                    with shielded():
                        back, detail = self.switcher.serve(previous)
                    if not back:  # the new release keeps serving, on the migrated schema
                        self.end_maintenance(undo)
                        self.finish(release, previous)
                        raise Failed(
                            f"{release} {failure}, and {previous} fails its health check ({detail}): {release} "
                            "still serves."
                        ) from None
        if healthy:
            self.end_maintenance(undo)
            self.finish(release, previous)
            return
        if not previous and self.switcher.live:  # the first release: nothing to go back to, it stays
            self.finish(release, previous)
            raise Failed(f"{release} serves but {failure}; there is no earlier release to go back to.")
        with shielded():
            self.go_back(release, previous, undo)
        if not previous:
            raise Failed(f"{release} {failure} and there is no earlier release to go back to.")
        if undo is None:
            raise Failed(
                f"{release} {failure} on this host, which serves {previous} again. The database stays "
                f"migrated; app hosts switched before this one serve {release}: make rollback takes them back."
            )
        raise Failed(f"{release} {failure}; rolled back: {previous} serves again.")

    def finish(self, release, previous):
        self.state.record_deploy(release, self.database.revision(), self.by, self.seconds())
        self.journal(None)
        self.builder.prune()
        self.say(f"{release} serves (was {previous})" if previous else f"{release} serves: the first release")

    def go_back(self, release, previous, undo):
        """After a failed switch: the routing to what serves, the schema as it was."""
        self.switcher.restore(stop=self.switcher.idle)
        if undo is not None:
            self.migrations.undo(release, undo["before"], undo["dump"], previous)
            self.end_maintenance(undo)
        self.state["pending"] = None
        self.journal(None)

    def maintenance(self, on):
        """This web host's nginx site in maintenance (503), or live; whether that changed it."""
        if not self.config.maintenance_link:
            raise Refused("this host serves no site (not a web host): maintenance is a web host's.")
        rules = os.path.basename(self.paths.maintenance_rules) if on else None
        return nginx.relink(self.runner, self.config.maintenance_link, rules)

    def end_maintenance(self, undo):
        """The site live again, when the migration of this run put it in maintenance."""
        if undo and undo.get("maintenance") and self.maintenance(False):
            self.say("the site is live again")

    def reload(self):
        """The serving release started again in the other color, with the settings as they are
        now (.env, the program's options, MariaDB's new connections), then switched to."""
        if not self.state.serving:
            raise Refused("nothing is deployed yet: nothing to reload.")
        if not self.state.serving_release():  # built where an earlier version of the deploy built releases
            self.say(f"{self.state.serving} is built again by this deploy's release step, with the new settings")
            return
        healthy, detail = self.switcher.serve(self.state.serving)
        if not healthy:
            raise Failed(
                f"{self.state.serving} with the new settings fails its health check ({detail}), so the "
                "running one keeps serving with the settings it started with; see the app's error log."
            )

    def check(self, wait=None, live=False):
        """The health check of what serves: through this host's nginx, else on the live color's own
        port. With `live`, whether the live color's gunicorn answers at all (any HTTP status)."""
        if not self.switcher.live:
            return self.service.health(wait) if self.config.site_url else (False, "no release serves yet")
        if live or not self.config.site_url:
            url = self.service.url(self.switcher.live)
            return self.service.health(wait, url, color=self.switcher.live, highest=599 if live else None)
        return self.service.health(wait)

    def record_failure(self, command, detail):
        self.state.record_failure(command, self.attempt, self.by, detail, self.seconds())
        self.state.save()

    def pending(self):
        pending = self.state["pending"]
        if not pending:
            raise Refused("no release is built and waiting for this step: run the build step first.")
        return pending["release"], pending["previous"]

    # --- rollback -------------------------------------------------------------------------------

    def rollback_target(self):
        serving = self.state.serving
        if not serving:
            raise Refused("nothing is deployed yet: nothing to roll back.")
        found = self.state.previous()
        if not found:
            raise Refused(f"{serving} is the oldest release kept: nothing to roll back to.")
        return serving, found

    def rollback(self, database=True):
        """Back to the release that served before: its schema first (by the newer release's own
        migrations, after a dump), then the switch; with `database` False the schema stays and
        the release left is noted for rollback_database."""
        serving, (index, entry) = self.rollback_target()
        self.attempt = entry["release"]
        self.journal("rollback", release=entry["release"], left=serving, database=database)
        if database:
            self.migrations.downgrade(serving, entry["revision"], serving)
        healthy, detail = self.switcher.serve(entry["release"])
        if not healthy:
            if database:  # the release that keeps serving gets its schema back
                self.migrations.upgrade(serving)
            self.journal(None)
            raise Failed(
                f"{entry['release']} fails its health check ({detail}), so {serving} keeps serving, its "
                "schema as it was."
            )
        self.state.record_rollback(index, self.by, self.seconds())
        if not database:
            self.state["left"] = {"release": serving, "revision": entry["revision"]}
        self.journal(None)
        self.say(f"rolled back: left {serving}, now serves {entry['release']}")

    def rollback_database(self):
        left = self.state["left"]
        if not left:
            self.say("no release left by a rollback here: the database stays as it is")
            return
        self.migrations.downgrade(left["release"], left["revision"], self.state.serving)
        self.state["left"] = None
        self.state.save()
        self.say(f"database back at revision {left['revision'] or 'none'}")

    # --- an interrupted run ---------------------------------------------------------------------

    def recover(self):
        """Finishes what an interrupted run left, so the next step starts from a known state: a
        migration or a switch is undone, a rollback done again."""
        journal = self.state["journal"]
        if not journal:
            return
        self.say(f"an earlier run stopped during its {journal['step']} step ({journal['at']}): finishing that first")
        with shielded():
            if journal["step"] == "migrate":
                undo = journal.get("undo") or journal  # (an earlier version kept before and dump beside)
                self.migrations.undo(journal["release"], undo["before"], undo["dump"], journal["previous"])
                self.end_maintenance(undo)
                self.state["pending"] = None
            elif journal["step"] == "switch":
                self.go_back(journal["release"], journal["previous"], journal["undo"])
            elif journal["step"] == "rollback":
                self.rollback(database=journal["database"])
            self.journal(None)
