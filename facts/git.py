"""The app's repository on the server and at its URL, read as the app user (git never runs as
root) and changing nothing, so --dry stays dry."""

import shlex

from pyinfra.api import FactBase

from flask_release.identity import COMMIT, REF_FORMAT, parse_refs


class RepositoryRefs(FactBase):
    """The tags and branches (flask_release.identity.Ref) of the bare repository at path, or
    None when there is none."""

    def command(self, path):
        git = f"git --git-dir={shlex.quote(path)}"
        return (
            f"if {git} rev-parse --git-dir >/dev/null 2>&1; then "
            f"{git} for-each-ref --format={shlex.quote(REF_FORMAT)} refs/tags refs/heads; "
            "else echo no-repository; fi"
        )

    def process(self, output):
        return None if output == ["no-repository"] else parse_refs(output)


class RemoteRefs(FactBase):
    """{ref name: commit} of the tags and branches at a git URL (`git ls-remote`), or None when
    it does not answer within 30 s."""

    def command(self, url):
        return (
            "GIT_TERMINAL_PROMPT=0 GIT_CONFIG_GLOBAL=/dev/null timeout 30 "
            f"git ls-remote --tags --heads {shlex.quote(url)} 2>/dev/null "
            "|| echo unreachable"
        )

    def process(self, output):
        if output == ["unreachable"]:
            return None
        refs = {}
        for line in output:
            commit, _, name = line.partition("\t")
            if COMMIT.match(commit) and name.startswith(("refs/tags/", "refs/heads/")):
                peeled = name.endswith("^{}")
                name = name[:-3] if peeled else name
                if peeled or name not in refs:
                    refs[name] = commit
        return refs


class HasCommit(FactBase):
    """Whether the git repository at path holds commit."""

    def command(self, path, commit):
        return (
            f"git --git-dir={shlex.quote(path)} cat-file -e {shlex.quote(commit + '^{commit}')} 2>/dev/null "
            "&& echo yes || echo no"
        )

    def process(self, output):
        return output == ["yes"]
