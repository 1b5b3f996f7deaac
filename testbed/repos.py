"""Builds the sample Flask app's git repository: tags v1.0.0, v1.1.0, then an untagged commit. The
article's shape (sample_app), or another (hello_app: a factory, pyproject.toml, no database).

The deploy ships it from this machine, since no git host is reachable here.
Usage: python -m testbed.repos DEST
"""

import os
import shutil
import subprocess
import sys

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample_app")
HELLO = os.path.join(os.path.dirname(SOURCE), "hello_app")
RELEASES = ("v1.0.0", "v1.1.0")
UNTAGGED = "v1.2.0-dev (untagged)"
# hello_app as a second app beside the sample app on one server: its own user, database and name
SECOND_APP = {
    "app_name": "hello",
    "app_user": "hello",
    "db_name": "hello",
    "db_user": "hello",
    "server_names": ["hello.localhost"],
    "app_module": "hello:create_app()",
    "flask_app": "wsgi.py",
}


class Repo:
    def __init__(self, path):
        self.path = path
        self.clock = 1_700_000_000

    def git(self, *args):
        self.clock += 60  # strictly increasing dates: "latest tag" is ordered by commit date
        stamp = f"{self.clock} +0000"
        env = dict(
            os.environ,
            GIT_AUTHOR_DATE=stamp,
            GIT_COMMITTER_DATE=stamp,
            GIT_AUTHOR_NAME="Sample",
            GIT_AUTHOR_EMAIL="sample@example.org",
            GIT_COMMITTER_NAME="Sample",
            GIT_COMMITTER_EMAIL="sample@example.org",
        )
        return subprocess.run(
            ["git", "-C", self.path, *args], check=True, env=env, capture_output=True, text=True
        ).stdout.strip()

    def write(self, relative_path, text):
        full = os.path.join(self.path, relative_path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as handle:
            handle.write(text)

    def commit(self, message, tag=None):
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        if tag:
            self.git("tag", "-a", tag, "-m", tag)
        return self.git("rev-parse", "HEAD")

    def tag(self, name, commit="HEAD"):
        """A lightweight tag of any name git's ref format allows, even one `git tag` refuses (-x)."""
        self.git("update-ref", f"refs/tags/{name}", commit)

    def release(self, version, tag=True, files=()):
        """Commits VERSION = version and files [(path, text)], tagged version unless tag is False."""
        self.write("VERSION", version + "\n")
        for path, text in files:
            self.write(path, text)
        return self.commit(f"Release {version}", tag=version if tag else None)


MIGRATION = '''"""{message}"""
from alembic import op
import sqlalchemy as sa

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade():
{upgrade}


def downgrade():
{downgrade}
'''


def new_table(revision, down_revision, table, insert=False):
    """(path, text) of a migration that creates `table` (id, body), with one row if `insert`."""
    columns = "sa.Column('id', sa.Integer(), primary_key=True), sa.Column('body', sa.Text())"
    upgrade = f"op.create_table('{table}', {columns})"
    if insert:
        row = f"INSERT INTO {table} (body) VALUES ('one row per run of this migration')"  # noqa: S608 (a test's own)
        upgrade += f'\nop.execute("{row}")'
    return migration(revision, down_revision, f"{table} table", upgrade, f"op.drop_table('{table}')")


def migration(revision, down_revision, message, upgrade, downgrade):
    """(path, text) of an Alembic migration for Repo.release(files=...)."""

    def indent(lines):
        return "\n".join("    " + line for line in lines.splitlines())

    return (
        f"migrations/versions/{revision}_{message.replace(' ', '_')}.py",
        MIGRATION.format(
            message=message,
            revision=revision,
            down_revision=down_revision,
            upgrade=indent(upgrade),
            downgrade=indent(downgrade),
        ),
    )


def breaking_column(revision, down_revision, seconds=3):
    """(path, text) of a migration marked as not backward compatible that adds post.title, taking
    `seconds` (MariaDB's SLEEP): long enough to be seen by a client."""
    upgrade = f"op.add_column('post', sa.Column('title', sa.Text()))\nop.execute('SELECT SLEEP({seconds})')"
    path, text = migration(revision, down_revision, "post title", upgrade, "op.drop_column('post', 'title')")
    return path, text + "\n\n# The release before this one cannot run on this schema.\nbackward_compatible = False\n"


def second_app(folder):
    """hello_app's repository built in `folder`, and the environment that deploys it as the second
    app: DEPLOY_SETTINGS naming its settings file, as an operator keeps one per app."""
    repo = build(os.path.join(folder, "hello-app"), HELLO)
    settings_file = os.path.join(folder, "hello.py")
    with open(settings_file, "w") as out:
        out.writelines(f"{name} = {value!r}\n" for name, value in {**SECOND_APP, "repo": repo.path}.items())
    return repo, {"DEPLOY_SETTINGS": settings_file}


def build(dest, source=SOURCE):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "app.db"))
    repo = Repo(dest)
    repo.git("init", "-q", "-b", "main")
    repo.write(".gitignore", ".env\nvenv/\n__pycache__/\napp.db\n")
    for version in RELEASES:
        repo.release(version)
    repo.release(UNTAGGED, tag=False)
    return repo


if __name__ == "__main__":
    build(sys.argv[1])
    print(f"Sample app repository built in {sys.argv[1]}")
