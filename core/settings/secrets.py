"""The app's secrets, SECRET_KEY, the database password and those `app_secrets` names, and the
servers' package index with its credentials (DEPLOY_PIP_INDEX_URL): the same on every host of the
layout.

Kept on each app host in root's /etc/<app>/secrets.env (0600); the app's .env, root's MariaDB
client file and pip.conf are written from it, so a lost .env gets the same password back. Never
from a file the app user can write: when root's copy is gone, new ones are made (and said). They
are read with a command pyinfra never prints (facts are printed at -vvv) and sent to the server on
a command's standard input, never in a command line."""

import hashlib
import io
import re
import secrets
from dataclasses import dataclass

from dotenv import dotenv_values
from pyinfra import logger
from pyinfra.api import StringCommand
from pyinfra.api.exceptions import PyinfraError

from core.plan.host_state import host_state
from core.settings import environment
from core.settings.resolved import settings
from core.settings.roles import host_named, roles

# Printable ASCII but space, quotes, backslash and $: what .env files, URLs and MariaDB's option
# files all keep as it is.
KEPT_AS_IS = r"[!#%&()*+,\-./0-9:;<=>?@A-Z\[\]^_a-z{|}~]"
SECRET = re.compile(rf"^{KEPT_AS_IS}{{16,200}}$")
# The app's own secrets (API keys, a mail password): any length, the same characters.
APP_SECRET = re.compile(rf"^{KEPT_AS_IS}{{1,1000}}$")
INDEX_URL = re.compile(rf"^https?://{KEPT_AS_IS}{{1,1000}}$")
DRILL_PASSWORD = "DRILL_PASSWORD"  # noqa: S105 (its name in root's file)
SECRET_RULE = (
    "at least 16 characters of letters, digits and punctuation other than quotes (' \" `), backslash and $, "  # noqa: S105
    "no spaces"
)
_cache = {}


@dataclass(frozen=True)
class Secrets:
    secret_key: str
    db_password: str
    new: bool = False  # other than the ones the app hosts keep (or none kept yet)
    app: tuple = ()  # ((name, value), ...) of `app_secrets`
    pip_index_url: str | None = None  # DEPLOY_PIP_INDEX_URL
    drill_password: str = ""  # the restore drill's database user's, made like DB_PASSWORD
    backup: tuple = ()  # ((name, value), ...): BACKUP_PASSWORD and the `backup_secrets`, from this machine

    @property
    def drill_password_hash(self):
        return _native_hash(self.drill_password)

    @property
    def db_password_hash(self):
        return _native_hash(self.db_password)


def _native_hash(password):
    """MariaDB's mysql_native_password hash of a password."""
    inner = hashlib.sha1(password.encode(), usedforsecurity=False).digest()
    return "*" + hashlib.sha1(inner, usedforsecurity=False).hexdigest().upper()


def secret_problems(names=(), backup_names=()):
    """Secrets given in the environment that cannot be kept as they are, the deploy's, the app's
    (`names`) and the backup repository's (`backup_names`): checked before connecting."""
    return (
        [
            f"{name} holds a character (or length) a .env file cannot keep as it is: use {SECRET_RULE}, or unset it "
            "to keep the server's (or get a generated one)."
            for name in (environment.SECRET_KEY, environment.DB_PASSWORD)
            if environment.get(name) and not SECRET.match(environment.get(name))
        ]
        + [
            f"{name} (in app_secrets) holds a character a .env file cannot keep as it is: use letters, digits and "
            "punctuation other than quotes (' \" `), backslash and $, no spaces."
            for name in names
            if environment.get(name) and not APP_SECRET.match(environment.get(name))
        ]
        + [
            f"{name} must be an http(s) URL of a package index, with no quotes, backslash, $ or spaces."
            for name in (environment.PIP_INDEX_URL,)
            if environment.get(name) and not INDEX_URL.match(environment.get(name))
        ]
        + [
            f"{name} holds a character a .env file cannot keep as it is: use letters, digits and punctuation "
            "other than quotes (' \" `), backslash and $, no spaces."
            for name in (environment.BACKUP_PASSWORD, *backup_names)
            if environment.get(name) and not APP_SECRET.match(environment.get(name))
        ]
    )


def app_secrets():
    """The layout's secrets: from the environment (or a local .env) when set, else the ones the
    app hosts keep, else new ones."""
    layout = roles()
    if layout.hosts not in _cache:
        found = _find(layout)
        _cache.setdefault(layout.hosts, found)
    return _cache[layout.hosts]


def _find(layout):
    first = host_named(layout.app[0])
    names, backup_names = settings(first).app_secrets, settings(first).backup_secrets
    kept = {}
    for name in layout.app:
        target = host_named(name)
        kept = _parse(read_file(target, settings(target).paths.secrets_file), (*names, *backup_names))
        if kept:
            break
    problems = secret_problems(names, backup_names)
    missing = [name for name in names if not environment.get(name) and not kept.get(name)]
    problems += [
        f"{name} (in app_secrets) is set neither in this machine's environment (or local .env) nor kept on the "
        "server: set it there for this deploy; the server keeps it for the next ones."
        for name in missing
    ]
    if problems:
        raise PyinfraError("\n".join(problems))
    deploys = (environment.SECRET_KEY, environment.DB_PASSWORD)
    made = [name for name in deploys if not (environment.get(name) or kept.get(name))]
    if made and (host_state(first)["state"] or {}).get("serving"):
        logger.warning(
            f"{first.name}: root's copy of the secrets ({settings(first).paths.secrets_file}) is gone: new "
            f"{' and '.join(made)} are made and the app restarts with them (SECRET_KEY: signed-in users sign in "
            "again); none is taken from the app's .env, which the app user can write."
        )
    made = {"SECRET_KEY": secrets.token_urlsafe(48), "DB_PASSWORD": secrets.token_urlsafe(24)}
    made[DRILL_PASSWORD] = secrets.token_urlsafe(24)
    # the backup repository's come from this machine alone (checked before connecting)
    backup = (environment.BACKUP_PASSWORD, *backup_names) if settings(first).backup_repository else ()
    value = {
        name: environment.get(name) or (kept.get(name) if name not in backup else None) or made.get(name)
        for name in (*made, environment.PIP_INDEX_URL, *names, *backup)
    }
    new = any(value[name] != kept.get(name) for name in value)
    return Secrets(
        value["SECRET_KEY"],
        value["DB_PASSWORD"],
        new,
        tuple((name, value[name]) for name in names),
        value[environment.PIP_INDEX_URL],
        value[DRILL_PASSWORD],
        tuple((name, value[name]) for name in backup),
    )


def _parse(text, names=()):
    """The secrets root's file keeps: the deploy's, and those of `names`, each as it must be."""
    values = dotenv_values(stream=io.StringIO(text or ""), interpolate=False)
    rules = {
        "SECRET_KEY": SECRET,
        "DB_PASSWORD": SECRET,
        DRILL_PASSWORD: SECRET,
        environment.PIP_INDEX_URL: INDEX_URL,
        environment.BACKUP_PASSWORD: APP_SECRET,
        **dict.fromkeys(names, APP_SECRET),
    }
    return {name: value for name, value in values.items() if name in rules and value and rules[name].match(value)}


def read_file(target, path):
    """The text of root's file on `target`, or None; never printed."""
    ok, output = target.run_shell_command(
        StringCommand("cat", path, "2>/dev/null"),
        print_output=False,
        print_input=False,
        _sudo=bool(target.data.get("_sudo")),
    )
    return "\n".join(output.stdout_lines) if ok else None
