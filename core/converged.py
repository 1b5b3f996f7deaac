"""A deploy that changes nothing, in one round trip. After every deploy that ends well, the
server keeps (root's, /var/lib/<app>/converged) the digest of what was deployed and the digest of
a probe of everything the tasks ensure: files, folders, links, packages, services, firewall,
MariaDB's databases, users and grants, supervisor's programs. A later deploy with the same
settings, secrets and code, nothing to release and the same probe changes nothing: it checks
the site serves and stops there. Anything else (a file changed on the server, a service
stopped, a new setting) runs every task as usual."""

import hashlib
import json
import os
import shlex
from dataclasses import asdict

from core.packages import packages_for
from core.tls import certificate_for

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The deploy's own code: a new version of it may ensure more than the last one did.
CODE = ("deploy.py", "core", "facts", "operations", "tasks", "templates", "constraints", "flask_release", "group_data")
APT_STAMP = "/var/lib/apt/periodic/update-success-stamp"  # pyinfra's apt.update reads its age
NGINX_SITES = "/etc/nginx/sites-available", "/etc/nginx/sites-enabled"
CERTBOT = (
    "/etc/letsencrypt/acme-directory-ca.pem",
    "/etc/systemd/system/certbot.service.d/acme-directory-ca.conf",
    "/etc/letsencrypt/renewal-hooks/deploy/reload-nginx",
)


def code_digest():
    digest = hashlib.sha256()
    for top in CODE:
        found = (
            [os.path.join(HERE, top)]
            if os.path.isfile(os.path.join(HERE, top))
            else sorted(
                os.path.join(folder, name)
                for folder, _, names in os.walk(os.path.join(HERE, top))
                for name in names
                if not name.endswith(".pyc")
            )
        )
        for path in found:
            with open(path, "rb") as handle:
                digest.update(os.path.relpath(path, HERE).encode() + b"\0" + handle.read())
    return digest.hexdigest()


def desired_digest(s):
    """What this host is to be: its settings, the files the settings name on this machine, and
    the deploy's own code. (Not the secrets, not even hashed: the record
    is printed at -vvv. New secrets are told apart otherwise: core.secrets.Secrets.new.)"""
    contents = []
    for path in [s.acme_ca_bundle] if s.acme_ca_bundle else []:
        with open(os.path.expanduser(path), "rb") as handle:
            contents.append(handle.read().hex())
    text = json.dumps([asdict(s), contents, code_digest()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def probe(s):
    """One shell command whose output changes when anything the tasks ensure on this host does.
    (Times are left out; what depends on the clock, the apt cache and the certificates, is not
    part of it: see `clock_probe`.)"""
    paths, files = [], []
    services = []
    commands = [f"getent passwd {shlex.quote(s.app_user)}"]
    packages = packages_for(s.roles.of(s.name), s.firewall, s.tls, s.offsite)
    commands.append("dpkg-query -W -f='${Package} ${Status}\\n' " + " ".join(packages))
    if s.firewall:  # ufw's own record of its rules, policies and whether it is on (`ufw status` reads these)
        commands.append("cat /etc/ufw/ufw.conf /etc/default/ufw /etc/ufw/user.rules /etc/ufw/user6.rules")
    if s.is_db:
        files.append("/etc/mysql/mariadb.conf.d/90-flask-deploy.cnf")
        services.append("mariadb")
        grants = "".join(f"SHOW GRANTS FOR '{s.db_user}'@'{client}'; " for client in s.roles.db_clients)
        sql = (  # db_user is a checked name, the clients addresses
            "SELECT SCHEMA_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA ORDER BY 1; "  # noqa: S608
            "SELECT User, Host, plugin, SHA2(authentication_string, 256) FROM mysql.user ORDER BY 1, 2; " + grants
        )
        commands.append("mariadb -N -B -e " + shlex.quote(sql))
    p = s.paths
    paths += [p.state_dir, p.config_dir, p.backup_dir, p.program, p.release_config]
    files += [p.program, p.release_config]
    if s.name == s.roles.migrating_host:
        units = [f"/etc/systemd/system/{s.app_name}-backup.{kind}" for kind in ("service", "timer")]
        paths += units + [p.backup_ssh_key, p.backup_known_hosts]
        files += units + [p.backup_ssh_key] + ([p.backup_known_hosts] if s.backup_ssh_host_key else [])
        services.append(f"{s.app_name}-backup.timer")
    if s.is_app:
        commands.append(f"getent passwd {shlex.quote(s.build_user)}")
        managed = [p.secrets_file, p.db_client_file, p.pip_constraints, p.pip_config, p.program_secrets]
        managed += [p.drill_client_file, f"/etc/logrotate.d/{s.app_name}"]
        managed.append(f"/etc/supervisor/conf.d/{s.app_name}.conf")
        paths += [p.home, p.build_home, s.log_dir, *managed]
        files += managed
        services.append("supervisor")
        paths += [p.app_dir, p.repo, p.releases, p.venvs, p.shared, p.slots]  # entries of root's folder
        # the .env is an entry of the app user's folder: read as that user, whatever it is now
        app = f"runuser -u {shlex.quote(s.app_user)} --"
        commands.append(f"{app} stat -c '%n %a %U %G %F' {shlex.quote(p.env_file)}")
        commands.append(f"{app} sha1sum {shlex.quote(p.env_file)}")
        # the colors' states, a gunicorn still starting as a running one (its master answers
        # before supervisor's startsecs); not the boot-time program's, which runs once
        states = f'$1 != "{s.app_name}-live" {{ sub(/^STARTING$/, "RUNNING", $2); print $1, $2 }}'
        commands.append("supervisorctl status | awk " + shlex.quote(states))
    if s.is_web:
        site = f"{NGINX_SITES[0]}/{s.app_name}"
        paths += [s.acme_webroot, site, f"{NGINX_SITES[1]}/{s.app_name}", f"{NGINX_SITES[1]}/default"]
        files.append(site)
        folder = p.nginx_dir
        paths += [folder, p.maintenance_rules, f"{folder}/maintenance.html"]
        files += [p.maintenance_rules, f"{folder}/maintenance.html"]
        if s.nginx_upstream_link:
            paths.append(s.nginx_upstream_link)
            files += [f"{folder}/upstream-blue.conf", f"{folder}/upstream-green.conf"]
        services.append("nginx")
        if s.tls == "self-signed":
            paths.append(f"/etc/ssl/{s.app_name}")
        if s.tls == "letsencrypt":
            paths += list(CERTBOT)
            files += list(CERTBOT)
            services.append("certbot.timer")
    commands.append("stat -c '%n %a %U %G %F %N' " + " ".join(map(shlex.quote, paths)))
    commands.append("sha1sum " + " ".join(map(shlex.quote, files)))
    if services:
        commands.append("systemctl is-active " + " ".join(services) + "; systemctl is-enabled " + " ".join(services))
    return "; ".join(f"{command} 2>&1" for command in commands)


def clock_probe(s):
    """What time changes: whether the apt cache is stale, whether a certificate expires within a
    day. Prints `fresh` when neither."""
    checks = [f"test $(( $(date +%s) - $(stat -c %Y {APT_STAMP} 2>/dev/null || echo 0) )) -lt {s.apt_cache_seconds}"]
    certificate = certificate_for(s.tls, s) if s.is_web else None
    if certificate:
        checks.append(f"openssl x509 -in {shlex.quote(certificate.fullchain)} -noout -checkend 86400 >/dev/null")
    return "( " + " && ".join(checks) + " ) 2>/dev/null && echo fresh || echo stale"


def record_command(s, desired):
    """What the last operation of a deploy that ended well runs: the probe's digest recorded."""
    path = shlex.quote(s.paths.converged_file)
    return (
        f"probe=$( ( {probe(s)} ) | sha256sum | cut -c1-64 ) && printf '%s %s\\n' {desired} \"$probe\" "
        f"> {path}.new && chmod 0600 {path}.new && mv -f {path}.new {path}"
    )
