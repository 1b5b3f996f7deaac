"""The off-site backup settings: `backup_repository` (a restic repository), its password
BACKUP_PASSWORD and credentials (`backup_secrets`), `backup_ssh_key` and `backup_ssh_host_key` for
an sftp: one, the app's
own folders copied with each dump (`backup_paths`), the retention off-site (`backup_offsite_keep`)
and where failures are told (`alert_url`). Part of core.settings.checks.problems."""

import os
import re
from urllib.parse import quote, urlsplit, urlunsplit

from core.settings import environment
from core.settings.app_settings import NAME
from core.settings.values import has_credentials, is_safe_path, is_whole

# restic's backends this deploy knows; a path is a repository on the server's own disk
BACKENDS = ("sftp:", "rest:http://", "rest:https://", "s3:", "b2:", "azure:", "gs:", "swift:", "rclone:", "/")
KEEP = ("last", "hourly", "daily", "weekly", "monthly", "yearly")  # restic forget --keep-<kind>
# a known_hosts line: host(s), key type, base64 key
HOST_KEY = re.compile(r"^[\w.:\[\],*-]+ (ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}$")
# REST credentials: restic 0.14 (Debian 12) takes them in the repository's URL alone
REST_USER, REST_PASSWORD = "RESTIC_REST_USERNAME", "RESTIC_REST_PASSWORD"  # noqa: S105 (names)


def backup_secret_names(data):
    value = data.get("backup_secrets") or ()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return tuple(str(name) for name in value)


def backup_path_list(data):
    value = data.get("backup_paths") or ()
    return tuple(str(path).strip("/") for path in ([value] if isinstance(value, str) else value))


def sftp_target(repository):
    """(user@host, port) of an sftp: repository (sftp:user@host:/path or sftp://user@host:port/path)."""
    if repository.startswith("sftp://"):
        parts = urlsplit(repository)
        return f"{parts.username}@{parts.hostname}", parts.port or 22
    return repository[len("sftp:") :].split(":", 1)[0], 22


def repository_with_credentials(repository, secrets):
    """The repository restic is given: a rest: URL gets the REST credentials of `secrets` ({name:
    value}) in it, since restic 0.14 reads them nowhere else (this lives in root's file alone)."""
    if not repository.startswith("rest:") or REST_USER not in secrets:
        return repository
    parts = urlsplit(repository[len("rest:") :])
    auth = quote(secrets[REST_USER], safe="") + ":" + quote(secrets.get(REST_PASSWORD, ""), safe="")
    return "rest:" + urlunsplit(parts._replace(netloc=f"{auth}@{parts.netloc}"))


def offsite_problems(data, need):
    alert = data.get("alert_url")
    need(alert is None or re.match(r"^https?://\S+$", str(alert)), "alert_url", "must be an http(s) URL, or None.")
    repository = data.get("backup_repository")
    if repository is None:
        return
    need(
        isinstance(repository, str) and repository.startswith(BACKENDS) and re.match(r"^[\x21-\x7e]+$", repository),
        "backup_repository",
        "is not a restic repository this deploy knows: sftp:user@host:/path, rest:https://host/path, s3:..., b2:..., "
        "azure:..., gs:..., swift:..., rclone:... or an absolute path (None: no off-site copies).",
    )
    need(
        not has_credentials(repository),
        "backup_repository",
        f"holds credentials: name them in backup_secrets instead ({REST_USER} and {REST_PASSWORD} for rest:, "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for s3:, ...) and set them in this machine's environment or "
        ".env: they are kept in root's files on the server alone.",
    )
    need(
        environment.get(environment.BACKUP_PASSWORD),
        "backup_repository",
        f"needs the repository's password: set {environment.BACKUP_PASSWORD} in this machine's environment or .env "
        "(it is never generated: a password kept on the server alone would die with it).",
    )
    key = data.get("backup_ssh_key")
    need(
        key is None or (str(repository).startswith("sftp:") and os.path.isfile(os.path.expanduser(str(key)))),
        "backup_ssh_key",
        "must be the path of a private key file on this machine, for an sftp: backup_repository (None: none).",
    )
    pinned = data.get("backup_ssh_host_key")
    need(
        pinned is None
        or (
            str(repository).startswith("sftp:")
            and all(HOST_KEY.match(line) for line in str(pinned).strip().splitlines() if not line.startswith("#"))
        ),
        "backup_ssh_host_key",
        "must be the sftp: repository host's key as `ssh-keyscan -t ed25519 HOST` prints it (HOST ssh-ed25519 "
        "AAAA...), or None: the key met at first contact is pinned.",
    )
    for name in backup_secret_names(data):
        need(
            NAME.match(name) and environment.get(name),
            "backup_secrets",
            f"names {name!r}: each must be an upper-case name set in this machine's environment or .env.",
        )
    for path in backup_path_list(data):
        need(
            is_safe_path(path, absolute=False),
            "backup_paths",
            f"names {path!r}: each must be a folder of the app's shared folder, relative and without .., e.g. uploads.",
        )
    keep = data.get("backup_offsite_keep")
    need(
        isinstance(keep, dict) and keep and all(kind in KEEP and is_whole(count) for kind, count in keep.items()),
        "backup_offsite_keep",
        f"must map some of {', '.join(KEEP)} to positive counts, e.g. {{'daily': 7, 'weekly': 4, 'monthly': 12}}.",
    )
