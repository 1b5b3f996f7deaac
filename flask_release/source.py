"""The app's git repository on the server (a bare one, the build account's): git runs as the
build account only, so a repository's config can never make root run anything, and reads no
global config of that account's own (~/.gitconfig), nor anything the app user writes."""

from .identity import REF_FORMAT, parse_refs

GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
}
# A stalled transfer ends after 30 s below 1 kB/s; the whole command after `git_timeout_seconds`.
GIT_OPTIONS = ("-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=30")
REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
# The build account keeps a copy of a shipped bundle only while fetching from it.
RECEIVE = (
    'f=$(mktemp) && cat > "$f" && git --git-dir="$1" fetch -q --force "$f" "$2" "$3"; '
    'status=$?; rm -f "$f"; exit $status'
)


class Source:
    def __init__(self, runner, config):
        self.runner, self.config, self.paths = runner, config, config.paths

    def git(self, *args, what, capture=False, check=True):
        return self.runner.run(
            ["git", *GIT_OPTIONS, f"--git-dir={self.paths.repo}", *args],
            what=what,
            timeout=self.config.git_timeout_seconds,
            user=self.config.build_user,
            env=GIT_ENV,
            capture=capture,
            check=check,
        )

    def ensure_repository(self):
        self.runner.run(
            ["git", "init", "-q", "--bare", self.paths.repo],
            what="git init",
            timeout=60,
            user=self.config.build_user,
            env=GIT_ENV,
        )

    def fetch(self, url):
        """The repository mirrors the branches and tags of `url`."""
        self.ensure_repository()
        self.git("fetch", "-q", "--prune", "--force", url, *REFSPECS, what=f"git fetch {url}")

    def receive(self, bundle):
        """The commits of a bundle shipped by the deploy (a root-owned file, read by root)."""
        self.ensure_repository()
        with open(bundle, "rb") as handle:
            self.runner.run(
                ["sh", "-c", RECEIVE, "-", self.paths.repo, *REFSPECS],
                what="git fetch of the shipped commits",
                timeout=self.config.git_timeout_seconds,
                user=self.config.build_user,
                env=GIT_ENV,
                stdin=handle,
            )

    def refs(self):
        output = self.git(
            "for-each-ref", f"--format={REF_FORMAT}", "refs/tags", "refs/heads", what="git for-each-ref", capture=True
        ).out
        return parse_refs(output.decode(errors="replace").splitlines())

    def export(self, commit, folder):
        """The files of `commit` into `folder` (the build account's)."""
        self.runner.run(
            [
                "bash",
                "-c",
                'set -o pipefail; git --git-dir="$1" archive "$2" | tar -x -C "$3"',
                "-",
                self.paths.repo,
                commit,
                folder,
            ],
            what=f"unpacking {commit[:12]}",
            timeout=self.config.git_timeout_seconds,
            user=self.config.build_user,
            env=GIT_ENV,
        )
