"""What each app host is to deploy, decided while the deploy is planned, changing nothing: a
local repository is read here, the server's repository and the URL's refs (`git ls-remote`) are
read there, as the build account. When the URL has commits the server lacks, the release program
fetches them and picks the release itself."""

import os
import subprocess
import tomllib
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pyinfra import logger
from pyinfra.api.exceptions import PyinfraError

from core.plan.host_state import host_state
from core.plan.per_host import once_per_host
from core.settings.checks import is_git_url
from core.settings.resolved import settings
from facts.git import RemoteRefs, RepositoryRefs
from flask_release.identity import (
    REF_FORMAT,
    Refused,
    check_immutable,
    check_not_older,
    parse_refs,
    resolve,
    same_release,
)
from flask_release.state import built


@dataclass(frozen=True)
class Plan:
    target: object  # flask_release.identity.Target, or None: the program resolves it after fetching
    fetch: bool  # the program fetches the repository URL first
    local_repo: str | None  # the commits are shipped from this repository
    serving: str | None  # the release that serves now
    changed: bool

    @property
    def wanted(self):
        return self.target.name if self.target else "the latest tag after fetching"


def local_refs(repo):
    result = subprocess.run(
        ["git", "-C", repo, "for-each-ref", f"--format={REF_FORMAT}", "refs/tags", "refs/heads"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise PyinfraError(f"`repo` = {repo!r} is not a git repository here: {result.stderr.strip()}")
    return parse_refs(result.stdout.splitlines())


def python_problem(repo, target, python):
    """What stops the release of `target` from the local repository on a server with `python`:
    its pyproject.toml's requires-python, when that version does not meet it."""
    shown = subprocess.run(
        ["git", "-C", repo, "show", f"{target.commit}:pyproject.toml"], capture_output=True, text=True, check=False
    )
    if shown.returncode != 0:
        return None
    try:
        wanted = tomllib.loads(shown.stdout).get("project", {}).get("requires-python")
        if not wanted or SpecifierSet(str(wanted)).contains(python, prereleases=True):
            return None
    except (tomllib.TOMLDecodeError, InvalidSpecifier, AttributeError) as error:
        return f"{target.name}'s pyproject.toml cannot be read ({error})"
    return (
        f"{target.name} requires Python {wanted} (requires-python in its pyproject.toml), and the server's is "
        f"{python}: deploy a release that runs on it (`ref`), or to a server whose Python meets it. "
        "Nothing was changed."
    )


@once_per_host
def plan(target_host):
    """The Plan of app host `target_host`, once per run."""
    s = settings(target_host)
    state = host_state(target_host)["state"] or {}
    releases = built(state)
    serving = releases.get(state.get("serving"))
    local_repo, fetch, refs = None, False, None
    if not is_git_url(s.repo):
        local_repo = os.path.abspath(os.path.expanduser(s.repo))
        refs = local_refs(local_repo)
    else:
        on_server = target_host.get_fact(RepositoryRefs, path=s.paths.repo, _sudo=True, _sudo_user=s.build_user)
        remote = (
            target_host.get_fact(RemoteRefs, url=s.repo, _sudo=True, _sudo_user=s.build_user)
            if on_server is not None
            else None
        )
        if on_server is not None and remote is None:
            logger.warning(f"{target_host.name}: {s.repo} does not answer: deploying from the server's copy")
        fetch = on_server is None or (
            remote is not None
            and remote
            != {f"refs/{'tags' if ref.kind == 'tag' else 'heads'}/{ref.name}": ref.commit for ref in on_server}
        )
        refs = None if fetch else on_server
    target = None
    if refs is not None:
        try:
            target = resolve(refs, s.ref)
            check_immutable(target, releases)
            if not s.ref:
                check_not_older(target, serving)
        except Refused as error:
            raise PyinfraError(f"{target_host.name}: {error}") from None
        new = not same_release(serving, target, s.pip_key)
        problem = new and local_repo and python_problem(local_repo, target, s.python)
        if problem:
            raise PyinfraError(f"{target_host.name}: {problem}")
    return Plan(
        target=target,
        fetch=fetch,
        local_repo=local_repo,
        serving=state.get("serving"),
        changed=not same_release(serving, target, s.pip_key),
    )
