"""Each host's settings, resolved once into one object that the tasks and templates read.

From core/settings/defaults.py, group_data/all.py, inventory.py and --data (checked by the
preflight before any connection). Every declared setting is an attribute of its name, as given
(a new setting needs no line here); the fields below are those the host's roles and facts decide
or that take another shape: its gunicorn address, the database address, the workers, where the
health check goes, the pip options."""

import io
import os
import re
import shlex
from dataclasses import dataclass

from pyinfra import host
from pyinfra.api.exceptions import PyinfraError

from core import ROOT
from core.glue.system import debian_release
from core.plan import apps_here
from core.settings.app_settings import plain_settings, secret_names
from core.settings.backup_settings import backup_path_list, backup_secret_names, sftp_target
from core.settings.checks import is_git_url
from core.settings.hooks import hook_commands
from core.settings.hostnames import is_ip, server_names
from core.settings.names import declared
from core.settings.roles import DB_PORT, Roles, host_named, roles
from facts.host import AppsHere
from flask_release.config import Paths, build_user_for
from flask_release.identity import pip_key

LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
# Constraints that ship with the package, by repository (owner/name on any git host).
KNOWN_CONSTRAINTS = {"dbwebb-se/microblog": os.path.join(ROOT, "constraints", "dbwebb-se-microblog.txt")}
_cache = {}


@dataclass(frozen=True)
class Settings:
    given: tuple  # ((name, value), ...) of every declared setting, as given: each an attribute too
    name: str  # the host's
    debian: int  # its Debian release: 12 (bookworm) or 13 (trixie)
    python: str  # its python3's version, which every release's venv runs
    ssh_port: int  # the port the deploy connects to (the firewall keeps it open)
    roles: Roles
    paths: Paths
    build_user: str
    gunicorn_requirement: str  # gunicorn==VERSION, for a venv whose app names no gunicorn
    app_env: tuple  # ((name, value), ...): more plain settings in the app's .env
    app_secrets: tuple  # names of more secrets, kept on the server like SECRET_KEY
    server_names: tuple
    workers: int
    gunicorn_host: str  # where this host's gunicorn listens: loopback, or its private address
    gunicorn_ports: tuple  # the blue and the green gunicorn's ports: `bind`'s and the next
    forwarded_allow_ips: str  # the web hosts, whose X-Forwarded-* headers gunicorn believes
    upstream: tuple  # (app host, its gunicorn address) of every app host, for nginx
    db_address: str  # where the app reaches MariaDB: the db host, or the external one (db_host)
    db_port: int
    log_dir: str
    static_path: str  # the app's static folder in a release
    static_from_disk: bool  # this web host holds the one release: nginx serves /static from disk
    pip_options: tuple  # as the release program gives them to pip
    pip_constraints: str | None  # the local file shipped to the server
    pip_key: str
    nginx_extra_directives: str
    acme_directory: str
    site_url: str | None  # this web host's nginx, which the health check goes through (Host: health_host)
    nginx_upstream_link: str | None  # the link the release program flips, when nginx fronts this host alone
    health_path: str
    health_host: str
    hooks_before_migrate: tuple  # ((argv), ...) run in a new release before its migration
    hooks_after_switch: tuple  # ((argv), ...) run in a release once it serves
    maintenance_page: str | None  # the local HTML file of the 503 page; None: the template
    server_addresses: tuple  # every host's private address: their requests pass maintenance
    backup_admin_repository: str | None  # the same as this machine reaches it to forget snapshots
    backup_ssh_key: str | None  # the local private key of an sftp: repository
    backup_ssh_host_key: str | None  # its host's key (known_hosts lines); None: pinned at first contact
    backup_secrets: tuple  # names of the repository's credentials
    backup_paths: tuple  # folders of the app's shared folder copied with each dump
    backup_offsite_keep: tuple  # ((kind, count), ...) for restic forget --keep-<kind>

    def __getattr__(self, name):  # (asked only for what is no field or property)
        given = dict(object.__getattribute__(self, "given"))
        if name in given:
            return given[name]
        raise AttributeError(f"{name!r} is no setting (core/settings/defaults.py) and no field of Settings")

    @property
    def env_names(self):
        """The names the app's .env holds (templates/env.j2), which reach its environment."""
        return ("SECRET_KEY", "DATABASE_URL", *(name for name, _ in self.app_env), *self.app_secrets)

    @property
    def offsite(self):
        """Whether this host copies its dumps off-site: the app host that migrates takes them."""
        return bool(self.backup_repository) and self.name == self.roles.migrating_host

    @property
    def drill(self):
        """Whether the restore drill has a scratch database of the layout's (not with db_host)."""
        return bool(self.backup_repository) and self.roles.db is not None

    @property
    def drill_names(self):
        """(database, user) of the restore drill's scratch database."""
        return f"{self.db_name}_drill", f"{self.db_user}_drill"

    @property
    def offsite_paths(self):
        """The folders copied with each dump: `backup_paths`, in the app's shared folder."""
        return tuple(f"{self.paths.shared}/{path}" for path in self.backup_paths)

    @property
    def restic_options(self):
        """restic's options for the repository: an sftp: one through root's key, its host's key
        pinned (the one of `backup_ssh_host_key`, or the one met at first contact)."""
        if not (self.backup_repository or "").startswith("sftp:"):
            return ()
        target, port = sftp_target(self.backup_repository)
        ssh = ["ssh", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={self.paths.backup_known_hosts}"]
        checking = "yes" if self.backup_ssh_host_key else "accept-new"
        ssh += ["-o", f"StrictHostKeyChecking={checking}", "-p", str(port)]
        ssh += ["-i", self.paths.backup_ssh_key, "-o", "IdentitiesOnly=yes"] if self.backup_ssh_key else []
        return ("-o", "sftp.command=" + " ".join([*ssh, target, "-s", "sftp"]))

    @property
    def is_web(self):
        return self.name in self.roles.web

    @property
    def is_app(self):
        return self.name in self.roles.app

    @property
    def is_db(self):
        return self.name == self.roles.db


def known_constraints(repo):
    match = re.search(r"[:/]([\w.-]+/[\w.-]+?)(?:\.git)?/?$", repo)
    return KNOWN_CONSTRAINTS.get(match.group(1).lower()) if match and is_git_url(repo) else None


def settings(target=None):
    """The settings of `target` (default: the current host), resolved once per run."""
    target = host if target is None else target
    if target.name not in _cache:
        layout = roles()
        debian, cores, python = debian_release(target)
        records = {name: host_named(name).get_fact(AppsHere, folder=apps_here.FOLDER) for name in layout.hosts}
        s = resolve(target.name, target.data, layout, cores, debian, python, records)
        problems = apps_here.conflicts(s, target.name, apps_here.others(records[target.name], s.app_name))
        if problems:
            raise PyinfraError(
                f"{s.app_name} cannot be deployed beside the apps on {target.name}:\n  "
                + "\n  ".join(problems)
                + "\nNothing was changed."
            )
        _cache[target.name] = s
    return _cache[target.name]


def resolve(name, data, layout, cores, debian=12, python="3.11.2", records=None):
    """The Settings of host `name` from its data (anything with .get: pyinfra's host data, a dict),
    the roles of the layout, its CPU cores and its Debian release; its gunicorn ports chosen beside
    the other apps of the layout's hosts (`records`: {host: {app: record}}, see core/plan/apps_here)."""
    value = data.get
    paths = Paths(value("app_name"), value("app_user"), build_user_for(value("app_user"), value("build_user")))
    names = server_names(data)
    records = records or {}
    taken = {
        int(port)
        for found in records.values()
        for other in apps_here.others(found, value("app_name")).values()
        if "app" in other["roles"]
        for port in other["ports"]
    }
    port = apps_here.gunicorn_port(
        int(value("bind").rsplit(":", 1)[1]),
        chosen=value("bind") != declared()["bind"],
        kept=apps_here.kept_port(records.values(), value("app_name")),
        taken=taken,
    )
    bind = f"{value('bind').rsplit(':', 1)[0]}:{port}"
    constraints = value("pip_constraints") or known_constraints(value("repo"))
    constraints = os.path.expanduser(constraints) if constraints else None
    options = (
        *(("--index-url", value("pip_index_url")) if value("pip_index_url") else ()),
        *shlex.split(value("pip_extra_args") or ""),
        *(("-c", paths.pip_constraints) if constraints else ()),
    )
    with open(constraints) if constraints else io.StringIO() as handle:
        constraints_text = handle.read()
    nginx = "http://127.0.0.1" if value("tls") == "off" else "https://127.0.0.1"
    gunicorn = f"gunicorn=={value('gunicorn_version')}"
    return Settings(
        given=tuple((setting, value(setting)) for setting in declared()),
        name=name,
        debian=debian,
        python=python,
        ssh_port=value("ssh_port") or 22,
        roles=layout,
        paths=paths,
        build_user=paths.build_user,
        gunicorn_requirement=gunicorn,
        app_env=plain_settings(data),
        app_secrets=secret_names(data),
        server_names=names,
        workers=int(value("workers") or 2 * (cores if name in layout.app else 1)),
        gunicorn_host=layout.gunicorn_host(name, bind),
        gunicorn_ports=(port, port + 1),
        forwarded_allow_ips=",".join(layout.address(web) for web in layout.web)
        if layout.serves_other_hosts(name)
        else "127.0.0.1",
        upstream=layout.upstream(bind),
        db_address=value("db_host") or layout.db_address,
        db_port=value("db_port") if value("db_host") else DB_PORT,
        log_dir=value("log_dir") or f"/var/log/{value('app_name')}",
        static_path=value("static_path").strip("/"),
        static_from_disk=layout.serves_static_itself(name),
        pip_options=options,
        pip_constraints=constraints,
        pip_key=pip_key(options, constraints_text, gunicorn),
        nginx_extra_directives=value("nginx_extra_directives") or "",
        acme_directory=LETSENCRYPT_STAGING if value("acme_staging") else value("acme_directory"),
        site_url=nginx if name in layout.web else None,
        nginx_upstream_link=f"/etc/nginx/{value('app_name')}/live.conf" if layout.serves_static_itself(name) else None,
        health_path=value("health_check_path"),
        health_host=names[0],
        hooks_before_migrate=hook_commands(value("hooks_before_migrate")),
        hooks_after_switch=hook_commands(value("hooks_after_switch")),
        maintenance_page=os.path.expanduser(value("maintenance_page")) if value("maintenance_page") else None,
        server_addresses=tuple(sorted({layout.address(each) for each in layout.hosts if is_ip(layout.address(each))})),
        backup_admin_repository=value("backup_admin_repository") or value("backup_repository"),
        backup_ssh_key=os.path.expanduser(value("backup_ssh_key")) if value("backup_ssh_key") else None,
        backup_ssh_host_key=value("backup_ssh_host_key").strip() + "\n" if value("backup_ssh_host_key") else None,
        backup_secrets=backup_secret_names(data),
        backup_paths=backup_path_list(data),
        backup_offsite_keep=tuple(sorted((value("backup_offsite_keep") or {}).items())),
    )
