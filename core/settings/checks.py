"""Settings checked before any connection: every problem reported at once, each naming the
setting and the fix. Pure functions of the settings (a dict, or pyinfra's host.data)."""

import os
import re
import shlex

from core.settings.app_settings import app_settings_problems
from core.settings.backup_settings import offsite_problems
from core.settings.environment import HOSTS, ROLE_HOSTS
from core.settings.hostnames import is_ip
from core.settings.kinds import kind_problems
from core.settings.names import declared, declared_kinds
from core.settings.values import URL_USERINFO, has_credentials, is_safe_path
from core.settings.web_checks import web_problems
from flask_release.config import build_user_for

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")
# Names a Debian server has taken already. app_name names /etc/<app>, /var/lib/<app>,
# /var/log/<app>, /etc/ssl/<app>, the nginx site and the supervisor program.
TAKEN = {
    "app_name": set(
        "apt backups ca_certificates certs cron dbus default dpkg git letsencrypt local lib log logrotate mariadb "
        "misc mysql network nginx pam private python3 root security ssh ssl sudo supervisor systemd tmp ufw www".split()
    ),
    "app_user": set(
        "root daemon bin sys sync games man lp mail news uucp proxy backup list irc gnats nobody _apt messagebus "
        "sshd mysql systemd_network systemd_resolve systemd_timesync polkitd ntp postfix".split()
    ),
    "db_name": {"mysql", "information_schema", "performance_schema", "sys", "test"},
    "db_user": {"root", "mysql", "mariadb", "debian_sys_maint", "public"},
}


def is_git_url(repo):
    return "://" in repo or repo.startswith("git@")


def problems(data):
    """What is wrong with the settings in `data`."""
    found = []

    def need(ok, setting, fix):
        if not ok:
            shown = URL_USERINFO.sub(lambda match: f"{match['scheme']}://***@", repr(data.get(setting)))
            found.append(f"`{setting}` = {shown} {fix}")

    for setting, taken in TAKEN.items():
        value = str(data.get(setting) or "")
        need(
            IDENTIFIER.match(value),
            setting,
            "is not a safe name: use lowercase letters, digits and _ (at most 32, not starting with a digit).",
        )
        need(
            not IDENTIFIER.match(value) or value not in taken,
            setting,
            "is taken by the system (or MariaDB) on a "
            "Debian server: choose a name of the app's own, e.g. the default of core/settings/defaults.py.",
        )
    need(
        re.match(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*(\(\))?)?$", str(data.get("app_module") or "")),
        "app_module",
        "is not a WSGI entry point: use module:name, e.g. microblog:app, or module:factory(), e.g. hello:create_app().",
    )
    need(
        data.get("migrations") in ("auto", "on", "off"),
        "migrations",
        "must be auto (when the release has migrations/env.py), on or off.",
    )
    need(
        re.match(r"^\d+(\.\d+){0,3}$", str(data.get("gunicorn_version") or "")),
        "gunicorn_version",
        "must be a version of gunicorn, e.g. 23.0.0.",
    )
    build = build_user_for(str(data.get("app_user") or ""), data.get("build_user"))
    need(
        not (data.get("build_user") or IDENTIFIER.match(str(data.get("app_user") or "")))  # (app_user's problem)
        or (IDENTIFIER.match(build) and build not in TAKEN["app_user"] and build != data.get("app_user")),
        "build_user",
        f"names the account {build!r}, which cannot build the releases: choose a name of its own other than "
        "app_user's (lowercase letters, digits and _, at most 32; None makes <app_user>_build).",
    )
    app_settings_problems(data, need)
    offsite_problems(data, need)
    db_host = data.get("db_host")
    need(
        db_host is None or (re.match(r"^[A-Za-z0-9.:-]{1,253}$", str(db_host)) and not str(db_host).startswith("-")),
        "db_host",
        "must be the external database's host name or IP address, or None for the inventory's db host.",
    )
    need(
        is_safe_path(data.get("flask_app") or "", absolute=False) and not str(data.get("flask_app")).startswith("-"),
        "flask_app",
        "must be the app's module or file in the release, e.g. microblog.py.",
    )
    web_problems(data, need)
    kind_problems(data, declared_kinds(), declared(), need)
    _paths(data, need)
    _source(data, need)
    return found


def _paths(data, need):
    need(
        is_safe_path(data.get("static_path") or "", absolute=False),
        "static_path",
        "must stay inside the release: a relative path without .., e.g. app/static.",
    )
    try:
        shlex.split(str(data.get("pip_extra_args") or ""))
    except ValueError as error:
        need(False, "pip_extra_args", f"cannot be split into options ({error}): check its quotes.")
    url = data.get("pip_index_url")
    need(not url or re.match(r"^https?://\S+$", str(url)), "pip_index_url", "must be an http(s) URL.")
    for setting in ("pip_index_url", "pip_extra_args"):
        need(
            not has_credentials(data.get(setting) or ""),
            setting,
            "holds credentials (user:token@), which would show in pip's command line and the servers' "
            "world-readable release.json: give that index, credentials included, as DEPLOY_PIP_INDEX_URL in this "
            "machine's environment or .env instead (kept in root's pip.conf, which the build account alone reads).",
        )
    need(
        not has_credentials(data.get("acme_directory") or ""),
        "acme_directory",
        "holds credentials (user:password@): an ACME directory needs none; give its plain URL.",
    )


def _source(data, need):
    repo = str(data.get("repo") or "")
    need(
        is_git_url(repo) or os.path.isdir(os.path.expanduser(repo)),
        "repo",
        "is neither a git URL nor a folder on "
        "this machine: set the app's repository URL, or the path of a local git repository (APP_REPO for the local "
        "server).",
    )
    need(
        not is_git_url(repo) or (re.match(r"^[\x21-\x7e]+$", repo) and not repo.startswith("-")),
        "repo",
        "is not a URL git can fetch.",
    )
    need(
        not has_credentials(repo),
        "repo",
        "holds credentials (user:token@), which would show in git's command line, the servers' world-readable "
        "release.json and the history: keep them off the servers. Set repo to the path of a clone on this machine "
        "(the deploy ships the commits), or to an SSH URL (git@host:org/app.git) with a deploy key in the build "
        "account's ~/.ssh.",
    )
    ref = data.get("ref")
    need(
        ref is None
        or (
            re.match(r"^[A-Za-z0-9._/+-]+$", str(ref)) and not str(ref).startswith(("-", "/")) and ".." not in str(ref)
        ),
        "ref",
        "is not a tag or branch name: use letters, digits and . _ / + -.",
    )


def roles_problems(roles, addresses, external_db=False):
    """What is wrong with the hosts of each role ({role: [names]}) and their private addresses;
    with `external_db` (setting db_host) the db role is no host's."""
    found = [
        f"No {role} host: list at least one in {ROLE_HOSTS[role]} (or {HOSTS})."
        for role in ("web", "app")
        if not roles.get(role)
    ]
    databases = roles.get("db") or ()
    if not external_db and len(databases) != 1:
        found.append(
            f"{len(databases)} database hosts ({', '.join(databases) or 'none'}): name exactly one in "
            f"{ROLE_HOSTS['db']} (it defaults to {HOSTS})."
        )
    names = {name for hosts in roles.values() for name in hosts}
    if len(names) > 1:  # the hosts reach each other at their private addresses
        found += [
            f"{name} needs the IP address the other hosts reach it at: write it as {name}=PRIVATE_IP in its "
            "DEPLOY_*_HOSTS entry (setting `private_address`)."
            for name in sorted(names)
            if not is_ip(addresses[name])
        ]
    return found
