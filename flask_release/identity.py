"""What names a release, which tag is the latest, and which venv a release needs.

Tag and branch names come from the app's repository, which is not trusted: a name becomes a
release only when it matches NAME. Pure functions, used on the server and by the deploy alike."""

import hashlib
import json
import re
from dataclasses import dataclass

NAME = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,99}$")
NAME_RULE = "letters, digits and . _ + - only, not starting with . or -, at most 100 characters"
COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# for-each-ref fields, tab-separated (no ref name holds a tab): ref, object, peeled object (annotated tags), their dates
REF_FORMAT = "%(refname)%09%(objectname)%09%(*objectname)%09%(committerdate:unix)%09%(*committerdate:unix)"


class Refused(Exception):
    """The repository or the settings ask for something unsafe or impossible; nothing changed."""


@dataclass(frozen=True)
class Ref:
    kind: str  # "tag" or "branch"
    name: str
    commit: str
    date: int  # the commit's date, which orders tags as `git rev-list --tags` does


@dataclass(frozen=True)
class Target:
    """What to deploy: the release `name` (a tag, or a branch and its commit) at `commit`."""

    name: str
    ref: str
    commit: str
    is_tag: bool


def parse_refs(lines):
    """The tags and branches in `git for-each-ref --format=REF_FORMAT` output; anything else skipped."""
    refs = []
    for line in lines:
        parts = line.split("\t")
        if len(parts) != 5:
            continue
        refname, obj, peeled, date, peeled_date = parts
        commit, date = (peeled, peeled_date) if peeled else (obj, date)
        for prefix, kind in (("refs/tags/", "tag"), ("refs/heads/", "branch")):
            if refname.startswith(prefix) and COMMIT.match(commit) and date.isdigit():
                refs.append(Ref(kind, refname[len(prefix) :], commit, int(date)))
    return refs


def version_key(name):
    """Orders names as versions: v1.10.0 after v1.9.0, and v2.0.0 after v2.0.0-rc1."""
    match = re.match(r"^\D*?(\d+(?:\.\d+)*)(.*)$", name)
    if not match:
        return ((), 0, name)
    numbers, rest = match.groups()
    natural = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|[^\d.+_-]+", rest)
    )
    return (tuple(int(part) for part in numbers.split(".")), 1 if not rest else 0, natural)


def check_name(name, origin):
    if not NAME.match(name) or name.endswith(".partial"):
        raise Refused(
            f"The {origin} {name!r} cannot name a release ({NAME_RULE}). Nothing was deployed: "
            "tag the release with such a name, or set `ref` to one that has it."
        )
    return name


def latest_tag(refs):
    """The tag the article's `git describe --tags $(git rev-list --tags --max-count=1)` picks:
    that of the newest tagged commit (its highest version, when it has several)."""
    tags = [ref for ref in refs if ref.kind == "tag"]
    return max(tags, key=lambda ref: (ref.date, version_key(ref.name))) if tags else None


def resolve(refs, ref=None):
    """The Target of `ref` (a tag or branch), or of the latest tag when `ref` is None."""
    if not ref:
        tag = latest_tag(refs)
        if tag is None:
            raise Refused(
                "The repository has no tag, so there is no latest tag to deploy. Tag a release "
                "(git tag -a v1.0.0 -m v1.0.0) or set `ref` to a branch or tag."
            )
        return Target(check_name(tag.name, "latest tag"), tag.name, tag.commit, True)
    for kind in ("tag", "branch"):
        for found in refs:
            if found.kind == kind and found.name == ref:
                if kind == "tag":
                    return Target(check_name(ref, "tag"), ref, found.commit, True)
                name = f"{ref.replace('/', '_')}-{found.commit[:7]}"
                return Target(check_name(name, "branch"), ref, found.commit, False)
    raise Refused(
        f"The ref `{ref}` (setting `ref`) does not exist in the repository: name an existing tag or "
        "branch, or unset `ref` to take the latest tag."
    )


def check_not_older(target, serving):
    """Refuses a latest tag older (by version) than the serving tag `serving` (dict from the
    state, or None): its newer tag was deleted, and deploying would downgrade the site."""
    if not serving or not serving.get("tag") or not target.is_tag or target.name == serving["name"]:
        return
    if version_key(target.name) < version_key(serving["name"]):
        raise Refused(
            f"The latest tag {target.name} is older than {serving['name']}, which serves (was a newer tag "
            f"deleted?): nothing was deployed. To go back to it, set ref={target.name} (or run make "
            "rollback); otherwise tag a newer release."
        )


def check_immutable(target, releases):
    """Refuses a tag whose commit moved since its release was built ({release: info} of the state)."""
    for info in releases.values():
        if info["name"] == target.name and info["commit"] != target.commit:
            raise Refused(
                f"The tag {target.name} now points at {target.commit[:12]}, but its release was built from "
                f"{info['commit'][:12]}: releases are immutable, so nothing was deployed. Tag the new "
                "commit with a new name (e.g. a higher version)."
            )


def same_release(info, target, pip):
    """Whether the release `info` (from the state) is `target` built with the pip_key `pip`."""
    return (
        bool(info)
        and target is not None
        and (info["name"], info["commit"], info["pip_key"]) == (target.name, target.commit, pip)
    )


def pip_key(options, constraints, gunicorn=""):
    """Identifies pip's options, constraints text and the gunicorn a venv gets when the app names
    none: a change gives every release a new venv."""
    parts = [list(options), constraints or ""] + ([gunicorn] if gunicorn else [])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def venv_key(requirements, pip):
    """The venv of a release: its requirements (bytes) with the pip_key `pip`."""
    return hashlib.sha256(pip.encode() + b"\0" + requirements).hexdigest()[:16]
