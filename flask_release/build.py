"""Releases built beside the serving one, by the build account: the code of a commit, a venv per
requirements and pip settings (shared by releases that agree on both; with pyproject.toml alone,
per commit), gunicorn in it; a check, as the app user, that the app loads; and the removal of
releases past `releases_keep`. The app user reads releases and venvs and cannot change them, so
nothing the running app writes reaches the next release; pip reads root's pip.conf, never one
of the build account's."""

import time

from .identity import check_immutable, venv_key
from .run import Failed
from .state import now

# module:name, or module:factory() as gunicorn calls it: a WSGI callable either way
IMPORT_CHECK = (
    "import importlib, sys; module, _, name = sys.argv[1].partition(':'); name = name or 'app'; "
    "app = getattr(importlib.import_module(module), name.removesuffix('()')); "
    "app = app() if name.endswith('()') else app; "
    "callable(app) or sys.exit(f'{sys.argv[1]} is not a WSGI app, but {type(app).__name__}')"
)
REQUIREMENTS_LIMIT = 1_000_000
# What a release's venv is installed from, the first the release has: pip's arguments for it.
DEPENDENCIES = (("requirements.txt", ("-r", "requirements.txt")), ("pyproject.toml", (".",)))


class Builder:
    def __init__(self, runner, source, state, config):
        self.runner, self.source, self.state, self.config = runner, source, state, config
        self.paths = config.paths

    def as_build(self, *argv, what, timeout=120, cwd=None, capture=False, check=True):
        return self.runner.run(
            list(argv),
            what=what,
            timeout=timeout,
            user=self.config.build_user,
            cwd=cwd,
            # pip takes root's file (and then none of the build account's); Python no user site
            env={"PIP_CONFIG_FILE": self.paths.pip_config, "PYTHONNOUSERSITE": "1"},
            capture=capture,
            check=check,
        )

    def open_to_app(self, folder, *others):
        """`folder` (0750) readable by the app user, and `others`, alone: not by another app's."""
        self.as_build("chmod", "0750", "--", folder, what="chmod")
        readers = ",".join(f"u:{user}:rx" for user in (self.config.app_user, *others))
        self.as_build("setfacl", "-m", readers, "--", folder, what="setfacl")

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
        return self.as_build("test", "-e", self.folder(release), what="test", check=False).code == 0

    def build(self, target):
        """The release of `target`, built unless it is already; returns its name."""
        release, built = self.release_for(target)
        if built:
            self.runner.say(f"release {release} already built")
            return release
        started = time.monotonic()
        folder, partial = self.folder(release), f"{self.folder(release)}.partial"
        # what an interrupted build left (a folder in use stays: the next step says why)
        self.as_build("rm", "-rf", "--", partial, what="removing an unfinished build", check=False)
        self.as_build("mkdir", "-p", "--", partial, what="mkdir")
        self.open_to_app(partial, "www-data")  # nginx serves /static from it
        self.source.export(target.commit, partial)
        self.as_build("ln", "-s", "../../shared/.env", f"{partial}/.env", what="linking .env")
        venv = self.venv_for(partial, target.commit)
        self.as_build("ln", "-sfn", f"../../venvs/{venv}", f"{partial}/venv", what="linking the venv")
        self.as_build("mv", "-T", "--", partial, folder, what="mv")
        self.state["releases"][release] = {
            "name": target.name,
            "ref": target.ref,
            "commit": target.commit,
            "tag": target.is_tag,
            "pip_key": self.config.pip_key,
            "venv": venv,
            "built": now(),
            "build_seconds": round(time.monotonic() - started, 1),
        }
        self.state.save()
        return release

    def dependencies(self, folder):
        """(file, pip's arguments, its text): requirements.txt when the release has one, else
        pyproject.toml (`pip install .`), read by the build account."""
        for name, arguments in DEPENDENCIES:
            head = ("head", "-c", str(REQUIREMENTS_LIMIT), "--", f"{folder}/{name}")
            read = self.as_build(*head, what=f"reading {name}", timeout=60, capture=True, check=False)
            if read.code == 0:
                return name, arguments, read.out
        raise Failed("the release has neither requirements.txt nor pyproject.toml: nothing says what the app needs")

    def venv_for(self, folder, commit):
        """The key of the venv of the release in `folder`: one per requirements.txt and pip
        settings, shared by releases that agree on both; with pyproject.toml, one per commit too,
        since `pip install .` puts the app's own code in it."""
        name, arguments, text = self.dependencies(folder)
        key = venv_key(text if name == "requirements.txt" else text + b"\0" + commit.encode(), self.config.pip_key)
        if key in self.state["venvs"]:
            return key
        venv = f"{self.paths.venvs}/{key}"
        self.runner.say(f"installing {name} into venvs/{key}")
        self.as_build("rm", "-rf", "--", venv, what="removing an unfinished venv")
        self.as_build("python3", "-m", "venv", venv, what="python3 -m venv")
        self.open_to_app(venv)  # `pip install .` puts the app's code in it
        self.pip(venv, folder, *arguments)
        # gunicorn is the deploy's: the app's own pin is kept, else the package's is installed
        python = f"{venv}/bin/python3"
        found = self.as_build(python, "-c", "import gunicorn", what="gunicorn", check=False, capture=True)
        if found.code:
            self.runner.say(f"{name} has no gunicorn: installing {self.config.gunicorn_requirement}")
            self.pip(venv, folder, self.config.gunicorn_requirement)
        self.state["venvs"][key] = {"built": now()}
        self.state.save()
        return key

    def pip(self, venv, folder, *arguments):
        self.as_build(
            f"{venv}/bin/pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--timeout",
            "30",
            *self.config.pip_options,
            *arguments,
            what="pip install",
            timeout=self.config.build_timeout_seconds,
            cwd=folder,
        )

    def check_imports(self, release):
        """The app of `release` loads, as the app user with its settings (app-exec)."""
        folder = self.folder(release)
        self.runner.run(
            [self.paths.program, "app-exec", f"{folder}/venv/bin/python3", "-c", IMPORT_CHECK, self.config.app_module],
            what=f"loading the app of {release}",
            timeout=120,
            user=self.config.app_user,
            cwd=folder,
        )

    def prune(self):
        """Releases past the last `releases_keep` that served, then the venvs no release uses."""
        keep = self.state.kept(self.config.releases_keep)
        releases, venvs = self.state["releases"], self.state["venvs"]
        for release in sorted(set(releases) - keep):
            self.as_build("rm", "-rf", "--", self.folder(release), what=f"removing release {release}")
            del releases[release]
        used = {info["venv"] for info in releases.values()}
        for key in sorted(set(venvs) - used):
            self.as_build("rm", "-rf", "--", f"{self.paths.venvs}/{key}", what=f"removing venv {key}")
            del venvs[key]
        self.state.save()
