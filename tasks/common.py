"""Shared pieces of the task modules: resolved settings, the release to deploy, secrets, and the
few operations pyinfra has no idempotent equivalent for."""

import hashlib
import io
import os
import secrets
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from dotenv import dotenv_values, load_dotenv
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pyinfra import host
from pyinfra.api import FactBase, FileUploadCommand, OperationError, StringCommand, operation
from pyinfra.api.command import HiddenValue, QuoteString
from pyinfra.facts.files import FileContents, Link, Sha1File
from pyinfra.facts.server import Command
from pyinfra.facts.mysql import MysqlUsers, make_execute_mysql_command

from tasks.layout import DB_PORT, host_named, layout

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
_cache = {}


def cached(key, compute):
    """compute() once per deploy run. Hosts are planned side by side (gevent): the first value
    stored is the one every host gets."""
    if key not in _cache:
        value = compute()
        _cache.setdefault(key, value)
    return _cache[key]


def per_host(function):
    """Computes a value once per host and deploy run (the deploy file is planned once per host).
    The wrapped function takes the host: the current one unless another is given."""

    def wrapper(target=None):
        target = host if target is None else target
        return cached((function.__name__, target.name), lambda: function(target))

    return wrapper


@dataclass(frozen=True)
class Settings:
    app_name: str
    app_user: str
    home: str
    app_dir: str  # repo/ (bare), releases/<tag>/, venvs/<requirements hash>/, shared/.env, current -> releases/<tag>
    repo_dir: str
    current: str
    env_file: str
    release_script: str
    backup_dir: str
    log_dir: str
    static_dir: str
    server_names: tuple
    workers: int
    bind: str
    db_name: str
    db_user: str


@per_host
def settings(target):
    data = target.data
    home = f"/home/{data.app_user}"
    app_dir = f"{home}/{data.app_name}"
    workers = data.get("workers") or 2 * int(target.get_fact(Command, "nproc") or 1)
    return Settings(
        app_name=data.app_name,
        app_user=data.app_user,
        home=home,
        app_dir=app_dir,
        repo_dir=f"{app_dir}/repo",
        current=f"{app_dir}/current",
        env_file=f"{app_dir}/shared/.env",
        release_script=f"/usr/local/sbin/{data.app_name}-release",
        backup_dir=f"/var/backups/{data.app_name}",
        log_dir=data.get("log_dir") or f"/var/log/{data.app_name}",
        static_dir=f"{app_dir}/current/{data.static_path.strip('/')}",
        server_names=tuple(data.get("server_names") or (data.domain, f"www.{data.domain}")),
        workers=int(workers),
        bind=layout().app_bind(target.name, data.bind),
        db_name=data.db_name,
        db_user=data.db_user,
    )


def render_template(template_name, s, data, **context):
    """The text of templates/<template_name> for the settings `s` and the host data `data`."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters["quote"] = lambda value: shlex.quote(str(value))
    return environment.get_template(template_name).render(s=s, data=data, **context)


def render(template_name, **context):
    """templates/<template_name> rendered for the current host, as a file object for files.put."""
    return io.StringIO(render_template(template_name, settings(), host.data, **context))


# --- the release: which commit to deploy, and which one the server runs ------------------------

FETCH_REFSPECS = "'+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'"


class GitHasCommit(FactBase):
    """Whether the git repository at path holds commit."""

    def command(self, path, commit):
        return (f"git --git-dir={shlex.quote(path)} cat-file -e {shlex.quote(commit + '^{commit}')} 2>/dev/null "
                "&& echo yes || true")

    def process(self, output):
        return bool(output) and output[0].strip() == "yes"


class ServingRelease(FactBase):
    """(name, commit) of the release `current` points at, or None. The commit is None unless the
    release script finished that release (recorded it in releases.log): an interrupted deploy
    is then done again."""

    def command(self, app_dir):
        current, history = shlex.quote(f"{app_dir}/current"), shlex.quote(f"{app_dir}/releases.log")
        return f'test -L {current} && echo "$(basename "$(readlink {current})") $(tail -n 1 {history} 2>/dev/null)" || true'

    def process(self, output):
        parts = output[0].split() if output else []
        if not parts:
            return None
        recorded = len(parts) >= 3 and parts[1] == parts[0]
        return parts[0], parts[2] if recorded else None


def resolve_ref_script(ref):
    """Shell that sets $name and $commit to the ref to deploy, in a git repository."""
    if ref:
        return (
            f"name={shlex.quote(ref)}; "
            'commit=$(git rev-parse --verify -q "$name^{commit}")'
            ' || { echo "The ref $name (setting ref) does not exist in the repository." >&2; exit 1; }; '
        )
    return (
        'name=$(git describe --tags "$(git rev-list --tags --max-count=1)" 2>/dev/null) || '
        '{ echo "The repository has no tag: tag a release, or set ref to a branch or tag." >&2; exit 1; }; '
        'commit=$(git rev-parse "$name^{commit}"); '
    )


class RemoteGitTarget(FactBase):
    """For a repository on the server: fetches from url, then returns (commit, name) of the ref to
    deploy, or None when there is no repository yet or the ref does not resolve."""

    def command(self, path, url, ref):
        script = (f"cd {shlex.quote(path)} && git fetch -q --force --prune {shlex.quote(url)} {FETCH_REFSPECS} && "
                  + resolve_ref_script(ref))
        return f'( {script} echo "$commit $name" ) 2>/dev/null || true'

    def process(self, output):
        parts = output[0].split() if output else []
        return tuple(parts) if len(parts) == 2 else None


@dataclass(frozen=True)
class Release:
    commit: str | None  # None: decided on the server (first fetch of a URL)
    name: str | None  # tag or branch
    local_repo: str | None  # set when the source is a path on this machine
    serving: str | None  # the release the server runs now
    changed: bool  # the server does not run this commit yet


def local_git(repo, *args):
    result = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise OperationError(f"git {' '.join(args)} in {repo} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def resolve_local_ref(repo, ref):
    """The commit and name to deploy from a local repository, as the article's command picks it."""
    if not ref:
        latest = subprocess.run(["git", "-C", repo, "rev-list", "--tags", "--max-count=1"],
                                capture_output=True, text=True).stdout.strip()
        if not latest:
            raise OperationError(
                f"The repository {repo} has no tag, so there is no latest tag to deploy. "
                "Tag a release (git tag -a v1.0.0 -m v1.0.0) or set `ref` to a branch or tag."
            )
        ref = local_git(repo, "describe", "--tags", latest)
    commit = subprocess.run(["git", "-C", repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}"],
                            capture_output=True, text=True).stdout.strip()
    if not commit:
        raise OperationError(f"The ref `{ref}` (setting `ref`) does not exist in {repo}: "
                             "name an existing tag or branch, or unset `ref` to take the latest tag.")
    return commit, ref


def is_git_url(repo):
    return "://" in repo or repo.startswith("git@")


def is_local_path(repo):
    return not is_git_url(repo) and os.path.exists(os.path.expanduser(repo))


@per_host
def release(target):
    """The release to deploy to the app host `target`, and the one it serves."""
    s = settings(target)
    repo = target.data.repo
    serving = target.get_fact(ServingRelease, app_dir=s.app_dir)
    if is_local_path(repo):
        local_repo = os.path.abspath(os.path.expanduser(repo))
        commit, name = resolve_local_ref(local_repo, target.data.get("ref"))
    else:
        local_repo = None
        remote = target.get_fact(RemoteGitTarget, path=s.repo_dir, url=repo, ref=target.data.get("ref"),
                                 _sudo=True, _sudo_user=s.app_user)
        commit, name = remote if remote else (None, None)
    return Release(commit=commit, name=name, local_repo=local_repo, serving=serving[0] if serving else None,
                   changed=commit is None or not serving or serving[1] != commit)


@operation()
def ship_commits(local_repo: str, ref: str, commit: str, dest: str, user: str):
    """Ensures the bare repository at dest holds ref at commit, shipped from a local repository
    (for servers that cannot reach the git host, and for private repositories without deploy keys)."""
    if host.get_fact(GitHasCommit, path=dest, commit=commit):
        return
    with tempfile.TemporaryDirectory() as folder:
        bundle = os.path.join(folder, "release.bundle")
        local_git(local_repo, "bundle", "create", bundle, ref)
        with open(bundle, "rb") as handle:
            content = handle.read()
    remote_bundle = f"/var/tmp/{settings().app_name}-{commit[:12]}.bundle"
    yield FileUploadCommand(io.BytesIO(content), remote_bundle, remote_temp_filename=remote_bundle + ".part")
    yield StringCommand("chmod", "0644", QuoteString(remote_bundle))
    fetch = (f"test -d {shlex.quote(dest)} || git init -q --bare {shlex.quote(dest)}; "
             f"git --git-dir={shlex.quote(dest)} fetch -q --force {shlex.quote(remote_bundle)} {FETCH_REFSPECS}")
    yield (f"runuser -u {shlex.quote(user)} -- sh -c {shlex.quote(fetch)}; status=$?; "
           f"rm -f {shlex.quote(remote_bundle)}; exit $status")


@operation()
def fetch_commits(src: str, commit: str | None, dest: str, user: str):
    """Ensures the bare repository at dest holds the branches and tags of the git URL src."""
    if commit and host.get_fact(GitHasCommit, path=dest, commit=commit):
        return
    fetch = (f"test -d {shlex.quote(dest)} || git init -q --bare {shlex.quote(dest)}; "
             f"git --git-dir={shlex.quote(dest)} fetch -q --force --prune {shlex.quote(src)} {FETCH_REFSPECS}")
    yield f"runuser -u {shlex.quote(user)} -- sh -c {shlex.quote(fetch)}"


# --- TLS certificates ------------------------------------------------------------------------------

LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


class CertificateNames(FactBase):
    """DNS names of a certificate file that is valid for another day, or None."""

    def command(self, path):
        quoted = shlex.quote(path)
        return (f"test -s {quoted} && openssl x509 -in {quoted} -noout -checkend 86400 >/dev/null && "
                f"openssl x509 -in {quoted} -noout -ext subjectAltName || true")

    def process(self, output):
        names = [item.strip()[4:] for line in output for item in line.split(",") if item.strip().startswith("DNS:")]
        return names or None


@dataclass(frozen=True)
class Certificate:
    fullchain: str
    privkey: str


def certificate_for(mode):
    """Where the certificate of a `tls` mode lives on the server."""
    s = settings()
    if mode == "letsencrypt":
        live = f"/etc/letsencrypt/live/{s.app_name}"
        return Certificate(f"{live}/fullchain.pem", f"{live}/privkey.pem")
    if mode == "self-signed":
        return Certificate(f"/etc/ssl/{s.app_name}/fullchain.pem", f"/etc/ssl/{s.app_name}/privkey.pem")
    return None


def certificate_ready(mode):
    """Whether the server holds a valid certificate of `mode` for all of server_names."""
    certificate = certificate_for(mode)
    if not certificate:
        return False
    names = host.get_fact(CertificateNames, path=certificate.fullchain)
    return bool(names) and set(settings().server_names) <= set(names)


@per_host
def served_certificate(target):
    """The certificate nginx of the current host (`target`) can serve before this deploy's TLS
    task: the configured mode's, else the other mode's (so that switching modes keeps HTTPS up),
    else none (HTTP only)."""
    mode = target.data.tls
    if mode == "off":
        return None
    for candidate in (mode, "letsencrypt" if mode == "self-signed" else "self-signed"):
        if certificate_ready(candidate):
            return certificate_for(candidate)
    return None


def acme_directory():
    return LETSENCRYPT_STAGING if host.data.get("acme_staging") else host.data.acme_directory


# --- secrets --------------------------------------------------------------------------------------


def app_secrets():
    """SECRET_KEY and the DB password, the same for every host of the layout: from the local
    environment / .env when set, else the ones already on the app hosts, else new ones. Returns
    (secret_key, db_password, db_password_changed)."""
    return cached(("app_secrets", layout().hosts), _find_app_secrets)


def _find_app_secrets():
    load_dotenv()
    on_server = {}
    for name in layout().app:
        app_host = host_named(name)
        lines = app_host.get_fact(FileContents, path=settings(app_host).env_file)
        if lines:
            on_server = dotenv_values(stream=io.StringIO("\n".join(lines)))
            break
    server_password = None
    if on_server.get("DATABASE_URL"):
        password = urlsplit(on_server["DATABASE_URL"]).password
        server_password = unquote(password) if password else None
    secret_key = os.environ.get("SECRET_KEY") or on_server.get("SECRET_KEY") or secrets.token_urlsafe(48)
    db_password = os.environ.get("DB_PASSWORD") or server_password or secrets.token_urlsafe(24)
    if any(char in db_password for char in "'\"\\") or not db_password.isprintable():
        raise OperationError("DB_PASSWORD may not hold quotes, backslashes or control characters: "
                             "choose another, or unset it to keep the server's (or get a generated one).")
    return secret_key, db_password, server_password is not None and db_password != server_password


def db_client_file():
    """The release script's MariaDB credentials on an app host, when MariaDB runs on another host."""
    return f"{settings().app_dir}/shared/mysql-client.cnf" if layout().db_shared else None


def database_url():
    s = settings()
    password = quote(app_secrets()[1], safe="")
    database_host = "localhost" if not layout().db_shared else layout().db_address
    return f"mysql+pymysql://{s.db_user}:{password}@{database_host}:{DB_PORT}/{s.db_name}"


@operation()
def nginx_site(src: io.StringIO, available: str, enabled: str):
    """Ensures the site `available` holds src and is enabled by the link `enabled`, when nginx
    accepts it (`nginx -t`); otherwise the previous site stays as it was (or none), nothing is
    reloaded, and the operation fails with nginx's own message."""
    content = src.getvalue().encode()
    linked = host.get_fact(Link, path=enabled)
    if (host.get_fact(Sha1File, path=available) == hashlib.sha1(content).hexdigest()
            and linked and linked["link_target"] == available):
        return
    site, link, previous = QuoteString(available), QuoteString(enabled), QuoteString(f"{available}.previous")
    yield StringCommand("rm", "-f", previous, "&&", "{", "cp", "-p", site, previous, "2>/dev/null", "||", "true;", "}")
    yield FileUploadCommand(io.BytesIO(content), available)
    yield StringCommand("ln", "-sfn", site, link)
    yield StringCommand(
        "nginx -t -q 2>&1 || {", "echo 'nginx rejects the new site (above): the previous one stays in place.' >&2;",
        "if [ -e", previous, "]; then mv -f", previous, site, "; else rm -f", site, link, "; fi;", "exit 1; }",
    )
    yield StringCommand("rm", "-f", previous)


@operation()
def mysql_user_only_at(user: str, hosts: list):
    """Ensures the MariaDB user (`""`: the anonymous one) exists at `hosts` alone, none at all
    when empty; a host that left the layout loses its access. When MariaDB does not answer while
    the deploy is planned (not installed yet, or stopped), the check is left to the server."""
    running = host.get_fact(Command, "systemctl is-active mariadb 2>/dev/null || true") == "active"
    accounts = [account.rsplit("@", 1) for account in host.get_fact(MysqlUsers) or {}] if running else []
    if running and all(at in hosts for name, at in accounts if name == user):
        return
    others = f" AND Host NOT IN ({', '.join(repr(at) for at in hosts)})" if hosts else ""
    yield (f"mysql -N -B -e \"SELECT CONCAT('DROP USER ', QUOTE(User), '@', QUOTE(Host), ';') FROM mysql.user "
           f"WHERE User = '{user}'{others}\" | mysql")


@operation()
def set_mysql_password(user: str, hostname: str, password: str):
    """Ensures the MariaDB user has password (mysql.user sets it only when it creates the user)."""
    sql = StringCommand(f"ALTER USER '{user}'@'{hostname}' IDENTIFIED BY '", HiddenValue(password), "'",
                        _separator="")
    yield make_execute_mysql_command(sql)


@operation()
def secret_file(src: io.StringIO, dest: str, user: str):
    """Ensures dest holds src, owned by user, mode 0600, never printing the contents (no diff).
    Every copy of it, the upload's temporary file included, is 0600 before the secret is written."""
    content = src.getvalue().encode()
    if host.get_fact(Sha1File, path=dest) == hashlib.sha1(content).hexdigest():
        return
    staged = f"{dest}.new"
    upload_temp = f"/tmp/.{os.path.basename(dest)}-{secrets.token_hex(8)}"  # only used under sudo
    yield StringCommand("install", "-m", "0600", "-o", user, "-g", user, "/dev/null", QuoteString(staged))
    yield StringCommand("install", "-m", "0600", "/dev/null", upload_temp, _sudo=False)
    yield FileUploadCommand(io.BytesIO(content), staged, remote_temp_filename=upload_temp)
    yield StringCommand("rm", "-f", upload_temp, _sudo=False)
    yield StringCommand("mv", "-f", QuoteString(staged), QuoteString(dest))
