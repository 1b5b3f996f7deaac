"""The operator's hooks: commands run as the app user in a release's folder, with its venv first
on PATH and the app's settings in the environment (through app-exec), e.g. `flask translate
compile` before the migration. A hook that fails fails its step; its output is shown."""

import shlex

from .run import SAFE_PATH, Failed


class Hooks:
    def __init__(self, runner, builder, config):
        self.runner, self.builder, self.config = runner, builder, config

    def run(self, stage, release):
        """The hooks of `stage` (before_migrate, after_switch) in `release`, in their order."""
        folder = self.builder.folder(release)
        label = stage.replace("_", "-")
        for argv in getattr(self.config, f"hooks_{stage}"):
            command = shlex.join(argv)
            self.runner.say(f"hook {label}: {command}")
            result = self.runner.run(
                [self.config.paths.program, "app-exec", *argv],
                what=f"the {label} hook {command}",
                timeout=self.config.migrate_timeout_seconds,
                user=self.config.app_user,
                cwd=folder,
                env={"PATH": f"{folder}/venv/bin:{SAFE_PATH}", "FLASK_APP": self.config.flask_app},
                check=False,
            )
            if result.code != 0:
                raise Failed(f"its {label} hook `{command}` exited {result.code} (its output is above)")
