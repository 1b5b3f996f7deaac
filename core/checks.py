"""Settings checked before any connection: every problem reported at once, each naming the
setting and the fix. Pure functions of the settings (a dict, or pyinfra's host.data)."""

import ipaddress
import os
import re
import shlex

TLS_MODES = ("letsencrypt", "self-signed", "off")
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")
DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
SAFE_PATH = re.compile(r"^[A-Za-z0-9._/+-]+$")
# Names that never resolve on the public internet, so no public CA can validate them.
NOT_PUBLIC_SUFFIXES = ("localhost", "local", "localdomain", "internal", "test", "invalid", "example", "lan", "home")
# app_name names /etc/<app>, /var/lib/<app>, /var/log/<app>, /etc/ssl/<app>, the nginx site and the
# supervisor program: these are taken on a Debian server.
TAKEN_APP_NAMES = {
    "apt",
    "backups",
    "ca_certificates",
    "certs",
    "cron",
    "dbus",
    "default",
    "dpkg",
    "git",
    "letsencrypt",
    "local",
    "lib",
    "log",
    "logrotate",
    "mariadb",
    "misc",
    "mysql",
    "network",
    "nginx",
    "pam",
    "private",
    "python3",
    "root",
    "security",
    "ssh",
    "ssl",
    "sudo",
    "supervisor",
    "systemd",
    "tmp",
    "ufw",
    "www",
}
SYSTEM_ACCOUNTS = {
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www_data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "_apt",
    "messagebus",
    "sshd",
    "mysql",
    "systemd_network",
    "systemd_resolve",
    "systemd_timesync",
    "polkitd",
    "ntp",
    "postfix",
}
RESERVED_DATABASES = {"mysql", "information_schema", "performance_schema", "sys", "test"}
RESERVED_DB_USERS = {"root", "mysql", "mariadb", "debian_sys_maint", "public"}
POSITIVE_INTEGERS = (
    "upstream_max_fails",
    "rolling_batch_size",
    "releases_keep",
    "backups_keep",
    "health_check_seconds",
    "release_lock_seconds",
    "git_timeout_seconds",
    "build_timeout_seconds",
    "migrate_timeout_seconds",
    "db_lock_wait_seconds",
)
BOOLEANS = ("expose_upstream_addr", "acme_staging", "hsts", "firewall")


def is_ip(name):
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def is_dns_name(name):
    labels = name.lower().rstrip(".").split(".")
    return 0 < len(name) <= 253 and all(DNS_LABEL.match(label) for label in labels)


def is_public_dns_name(name):
    labels = name.lower().rstrip(".").split(".")
    return (
        not is_ip(name)
        and is_dns_name(name)
        and len(labels) >= 2
        and labels[-1] not in NOT_PUBLIC_SUFFIXES
        and not labels[-1].isdigit()
    )


def is_git_url(repo):
    return "://" in repo or repo.startswith("git@")


def server_names(data):
    """The site's host names: `server_names` as a list, or one string of names separated by
    commas or spaces (as --data gives it), else domain and www.domain."""
    names = data.get("server_names")
    if isinstance(names, str):
        names = names.replace(",", " ").split()
    domain = str(data.get("domain") or "")
    return tuple(str(name) for name in names) if names else (domain, f"www.{domain}")


def is_whole(value, low=1, high=None):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)


def problems(data):
    """What is wrong with the settings in `data`."""
    found = []
    found += _names(data)
    found += _site(data)
    found += _numbers(data)
    found += _paths(data)
    found += _source(data)
    found += _tls(data)
    return found


def _names(data):
    found = []
    for setting, reserved in (
        ("app_name", TAKEN_APP_NAMES),
        ("app_user", SYSTEM_ACCOUNTS),
        ("db_name", RESERVED_DATABASES),
        ("db_user", RESERVED_DB_USERS),
    ):
        value = str(data.get(setting) or "")
        if not IDENTIFIER.match(value):
            found.append(
                f"`{setting}` = {value!r} is not a safe name: use lowercase letters, digits and _ (at most "
                "32, not starting with a digit)."
            )
        elif value.replace("-", "_") in reserved:
            found.append(
                f"`{setting}` = {value!r} is taken by the system (or MariaDB) on a Debian server: choose "
                "a name of the app's own, e.g. the default of group_data/all.py."
            )
    if not re.match(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$", str(data.get("app_module") or "")):
        found.append(
            f"`app_module` = {data.get('app_module')!r} is not a WSGI entry point: use module:name, e.g. microblog:app."
        )
    flask_app = str(data.get("flask_app") or "")
    if not SAFE_PATH.match(flask_app) or flask_app.startswith(("-", "/")) or ".." in flask_app.split("/"):
        found.append(f"`flask_app` = {flask_app!r} must be the app's module or file in the release, e.g. microblog.py.")
    return found


def _site(data):
    found = []
    domain = str(data.get("domain") or "")
    if not is_dns_name(domain):
        found.append(
            f"`domain` = {domain!r} is not a valid DNS name: set it to the site's name, e.g. blog.example.org."
        )
    given = data.get("server_names")
    if given is not None and not isinstance(given, (str, list, tuple)):
        found.append(
            f"`server_names` = {given!r} must be a list of host names (or one string of them, comma separated)."
        )
    elif given:
        bad = [name for name in server_names(data) if not (is_dns_name(name) or is_ip(name))]
        if bad:
            found.append(
                f"`server_names` holds {', '.join(map(repr, bad))}, not host names: list DNS names (or IP "
                "addresses), e.g. --data server_names=blog.example.org,www.blog.example.org."
            )
    bind = str(data.get("bind") or "")
    host_part, _, port = bind.rpartition(":")
    if (
        not host_part
        or not port.isdigit()
        or not 0 < int(port) < 65536
        or not re.match(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)$", host_part)
    ):
        found.append(f"`bind` = {bind!r} must be host:port with a numeric port, e.g. 127.0.0.1:8000.")
    if data.get("private_address") and not is_ip(str(data.get("private_address"))):
        found.append(f"`private_address` = {data.get('private_address')!r} must be an IP address.")
    path = str(data.get("health_check_path") or "")
    if not re.match(r"^/[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*$", path):
        found.append(f"`health_check_path` = {path!r} must be a URL path starting with /, e.g. / or /health.")
    if not re.match(r"^\d+(ms|s|m|h)?$", str(data.get("upstream_fail_timeout"))):
        found.append(
            f"`upstream_fail_timeout` = {data.get('upstream_fail_timeout')!r} must be an nginx time, e.g. 10s."
        )
    if not re.match(r"^\d+[kKmMgG]?$", str(data.get("client_max_body_size"))):
        found.append(f"`client_max_body_size` = {data.get('client_max_body_size')!r} must be an nginx size, e.g. 10m.")
    return found


def _numbers(data):
    found = []
    workers = data.get("workers")
    if workers is not None and not is_whole(workers):
        found.append(f"`workers` = {workers!r} must be a positive whole number, or None for 2 per CPU core.")
    for setting in POSITIVE_INTEGERS:
        if not is_whole(data.get(setting)):
            found.append(f"`{setting}` = {data.get(setting)!r} must be a positive whole number.")
    if not is_whole(data.get("apt_cache_seconds"), low=0):
        found.append(f"`apt_cache_seconds` = {data.get('apt_cache_seconds')!r} must be a whole number of seconds.")
    if not is_whole(data.get("health_check_max_status"), 200, 599):
        found.append(
            f"`health_check_max_status` = {data.get('health_check_max_status')!r} must be an HTTP status "
            "from 200 to 599 (the highest that counts as healthy)."
        )
    if not is_whole(data.get("public_https_port"), 1, 65535):
        found.append(f"`public_https_port` = {data.get('public_https_port')!r} must be a port number.")
    for setting in BOOLEANS:
        if not isinstance(data.get(setting), bool):
            found.append(f"`{setting}` = {data.get(setting)!r} must be True or False.")
    return found


def _paths(data):
    found = []
    static = str(data.get("static_path") or "")
    if not SAFE_PATH.match(static) or static.startswith("/") or ".." in static.split("/"):
        found.append(
            f"`static_path` = {static!r} must stay inside the release: a relative path without .., e.g. app/static."
        )
    for setting in ("log_dir", "acme_webroot"):
        value = data.get(setting)
        if value is not None and (
            not SAFE_PATH.match(str(value))
            or not str(value).startswith("/")
            or ".." in str(value).split("/")
            or str(value).rstrip("/") == ""
        ):
            found.append(f"`{setting}` = {value!r} must be an absolute folder path without .., e.g. /var/log/app.")
    for setting in ("pip_constraints", "acme_ca_bundle"):
        value = data.get(setting)
        if value and not os.path.isfile(os.path.expanduser(str(value))):
            found.append(f"`{setting}` = {value!r} is not a file on this machine: give the path of the local file.")
    try:
        shlex.split(str(data.get("pip_extra_args") or ""))
    except ValueError as error:
        found.append(f"`pip_extra_args` cannot be split into options ({error}): check its quotes.")
    url = data.get("pip_index_url")
    if url and not re.match(r"^https?://\S+$", str(url)):
        found.append(f"`pip_index_url` = {url!r} must be an http(s) URL.")
    return found


def _source(data):
    found = []
    repo = str(data.get("repo") or "")
    if not is_git_url(repo) and not os.path.isdir(os.path.expanduser(repo)):
        found.append(
            f"`repo` = {repo!r} is neither a git URL nor a folder on this machine: set the app's "
            "repository URL, or the path of a local git repository (APP_REPO for the local server)."
        )
    elif is_git_url(repo) and (not re.match(r"^[\x21-\x7e]+$", repo) or repo.startswith("-")):
        found.append(f"`repo` = {repo!r} is not a URL git can fetch.")
    ref = data.get("ref")
    if ref is not None and (
        not re.match(r"^[A-Za-z0-9._/+-]+$", str(ref)) or str(ref).startswith(("-", "/")) or ".." in str(ref)
    ):
        found.append(f"`ref` = {ref!r} is not a tag or branch name: use letters, digits and . _ / + -.")
    return found


def _tls(data):
    found = []
    tls = data.get("tls")
    if tls not in TLS_MODES:
        found.append(f"`tls` = {tls!r} is not one of {', '.join(TLS_MODES)}.")
    if tls == "letsencrypt":
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", str(data.get("acme_email") or "")):
            found.append(
                '`acme_email` is required with tls = "letsencrypt": set the contact email of the ACME '
                'account (e.g. --data acme_email=you@example.org), or choose tls = "self-signed".'
            )
        private = [name for name in server_names(data) if is_dns_name(name) and not is_public_dns_name(name)]
        if private:
            found.append(
                f"`domain` = {data.get('domain')!r} (server names {', '.join(private)}) is not a public DNS "
                "name, so no ACME CA can validate it: set the site's public name, or use tls = "
                '"self-signed" (or "off").'
            )
    if not re.match(r"^https://\S+$", str(data.get("acme_directory") or "")):
        found.append(f"`acme_directory` = {data.get('acme_directory')!r} must be an https URL.")
    return found


def roles_problems(roles, addresses):
    """What is wrong with the hosts of each role ({role: [names]}) and their private addresses."""
    from core.environment import HOSTS, ROLE_HOSTS

    found = []
    for role in ("web", "app"):
        if not roles.get(role):
            found.append(f"No {role} host: list at least one in {ROLE_HOSTS[role]} (or {HOSTS}).")
    databases = roles.get("db") or ()
    if len(databases) != 1:
        found.append(
            f"{len(databases)} database hosts ({', '.join(databases) or 'none'}): name exactly one in "
            f"{ROLE_HOSTS['db']} (it defaults to {HOSTS})."
        )
    names = {name for hosts in roles.values() for name in hosts}
    if len(names) > 1:  # the hosts reach each other at their private addresses
        for name in sorted(names):
            if not is_ip(addresses[name]):
                found.append(
                    f"{name} needs the IP address the other hosts reach it at: write it as "
                    f"{name}=PRIVATE_IP in its DEPLOY_*_HOSTS entry (setting `private_address`)."
                )
    return found
