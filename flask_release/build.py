"""Releases built beside the serving one, as the app user: the code of a commit, a venv per
requirements and pip settings (shared by releases that agree on both), a check that the app
loads; and the removal of releases past `releases_keep`."""

from .identity import check_immutable, venv_key
from .state import now

IMPORT_CHECK = (
    "import importlib, sys; module, _, name = sys.argv[1].partition(':'); "
    "getattr(importlib.import_module(module), name or 'app')"
)
REQUIREMENTS_LIMIT = 1_000_000


class Builder:
    def __init__(self, runner, source, state, config):
        self.runner, self.source, self.state, self.config = runner, source, state, config
        self.paths = config.paths

    def as_app(self, *argv, what, timeout=120, cwd=None, capture=False, check=True):
        return self.runner.run(
            list(argv), what=what, timeout=timeout, as_app=True, cwd=cwd, capture=capture, check=check
        )

    def folder(self, release):
        return f"{self.paths.releases}/{release}"

    def release_for(self, target):
        """(release, built): the release of `target` with this host's pip settings; a tag whose
        commit moved is refused, since the release of a tag never changes."""
        releases = self.state["releases"]
        check_immutable(target, releases)
        for release, info in releases.items():
            if info["name"] == target.name and info["pip_key"] == self.config.pip_key:
                return release, True
        # The same commit with other pip settings is a release of its own; a folder root has no
        # record of (an earlier version of this deploy made it, and it may serve) is left alone.
        release, number = target.name, 1
        while release in releases or self.on_disk(release):
            number += 1
            release = f"{target.name}~{number}"
        return release, False

    def on_disk(self, release):
        return self.as_app("test", "-e", self.folder(release), what="test", check=False).code == 0

    def build(self, target):
        """The release of `target`, built unless it is already; returns its name."""
        release, built = self.release_for(target)
        if built:
            self.runner.say(f"release {release} already built")
            return release
        folder, partial = self.folder(release), f"{self.folder(release)}.partial"
        # what an interrupted build left (a folder in use stays: the next step says why)
        self.as_app("rm", "-rf", "--", partial, what="removing an unfinished build", check=False)
        self.as_app("mkdir", "-p", "--", partial, what="mkdir")
        self.source.export(target.commit, partial)
        self.as_app("ln", "-s", "../../shared/.env", f"{partial}/.env", what="linking .env")
        venv = self.venv_for(partial)
        self.as_app("ln", "-sfn", f"../../venvs/{venv}", f"{partial}/venv", what="linking the venv")
        self.as_app("mv", "-T", "--", partial, folder, what="mv")
        self.state["releases"][release] = {
            "name": target.name,
            "ref": target.ref,
            "commit": target.commit,
            "tag": target.is_tag,
            "pip_key": self.config.pip_key,
            "venv": venv,
            "built": now(),
        }
        self.state.save()
        return release

    def venv_for(self, folder):
        requirements = self.runner.run(
            ["head", "-c", str(REQUIREMENTS_LIMIT), "--", f"{folder}/requirements.txt"],
            what="reading requirements.txt",
            timeout=60,
            as_app=True,
            capture=True,
        ).out
        key = venv_key(requirements, self.config.pip_key)
        if key in self.state["venvs"]:
            return key
        venv = f"{self.paths.venvs}/{key}"
        self.runner.say(f"installing requirements into venvs/{key}")
        self.as_app("rm", "-rf", "--", venv, what="removing an unfinished venv")
        self.as_app("python3", "-m", "venv", venv, what="python3 -m venv")
        self.as_app(
            f"{venv}/bin/pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--timeout",
            "30",
            *self.config.pip_options,
            "-r",
            "requirements.txt",
            what="pip install",
            timeout=self.config.build_seconds,
            cwd=folder,
        )
        self.state["venvs"][key] = {"built": now()}
        self.state.save()
        return key

    def check_imports(self, release):
        folder = self.folder(release)
        self.as_app(
            self.paths.program,
            "app-exec",
            f"{folder}/venv/bin/python3",
            "-c",
            IMPORT_CHECK,
            self.config.app_module,
            what=f"loading the app of {release}",
            cwd=folder,
        )

    def prune(self):
        """Releases past the last `releases_keep` that served, then the venvs no release uses."""
        keep = self.state.kept(self.config.releases_keep)
        releases, venvs = self.state["releases"], self.state["venvs"]
        for release in sorted(set(releases) - keep):
            self.as_app("rm", "-rf", "--", self.folder(release), what=f"removing release {release}")
            del releases[release]
        used = {info["venv"] for info in releases.values()}
        for key in sorted(set(venvs) - used):
            self.as_app("rm", "-rf", "--", f"{self.paths.venvs}/{key}", what=f"removing venv {key}")
            del venvs[key]
        self.state.save()
