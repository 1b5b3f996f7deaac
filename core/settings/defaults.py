# Every setting, declared once: NAME[: KIND] = DEFAULT  # what it does. A KIND is a rule the
# checks apply to every setting of it (core/settings/kinds.py: "count", a positive whole number;
# "flag", True or False; "port", "folder", "local_file", ...); rules that weigh several settings
# together are core/settings/checks.py's.
# docs/settings.md is made from these lines (python -m tools.settings_reference), and a name that
# is none of them is refused before the deploy connects. Change a setting in group_data/all.py
# (every server), per host in inventory.py, or per run with --data NAME=VALUE, not here.
# Secrets (SECRET_KEY, DB_PASSWORD) never live here: they come from the environment or a local .env,
# or are generated on the first deploy and kept on the server (root's /etc/<app_name>/secrets.env).

app_name = "microblog"  # name of the app: supervisor program, nginx site, folders /etc, /var/lib, /var/log/<app_name>
app_user = "deploy"  # unprivileged user that runs the app: gunicorn, migrations, hooks (created by the deploy)
build_user = None  # unprivileged user that fetches and builds the releases (git, pip); None = <app_user>_build
app_module = "microblog:app"  # WSGI entry point given to gunicorn
flask_app = "microblog.py"  # FLASK_APP for `flask db upgrade`
migrations = "auto"  # `flask db upgrade` on release: auto (when the release has migrations/env.py), on, off
gunicorn_version = "23.0.0"  # gunicorn installed into a release's venv when the app's requirements name none
app_env = {}  # more plain settings for the app's .env (and its environment), e.g. {"MAIL_SERVER": "smtp.example.org"}
app_secrets = ()  # names of more secrets, from the environment or a local .env, kept on the server like SECRET_KEY

repo = "https://github.com/dbwebb-se/microblog.git"  # git URL the server fetches, or a local path shipped from here
ref = None  # tag or branch to deploy; None = the latest tag, as the article's `git describe` picks it

domain: "dns_name" = "localhost"  # primary domain of the site
server_names = None  # host names the site answers (nginx server_name); None = domain and www.domain

workers: "count" = None  # gunicorn workers; None = 2 per CPU core of the server
bind = "127.0.0.1:8000"  # gunicorn address; app hosts behind web hosts elsewhere use its port on their private address
private_address = None  # IP address the other hosts reach this one at; None = its SSH address (see inventory.py)
upstream_max_fails: "count" = 3  # failed requests to an app host, within upstream_fail_timeout, before nginx skips it
upstream_fail_timeout: "nginx_time" = "10s"  # how long nginx skips a failed app host
expose_upstream_addr: "flag" = False  # send X-Upstream (the app host that answered), to watch load balancing
rolling_batch_size: "count" = 1  # app hosts taken out and updated at a time in a rolling update

db_name = "microblog"  # MariaDB database (utf8, utf8_bin)
db_user = "microblog"  # MariaDB user with rights on db_name alone
db_host = None  # an external MariaDB/MySQL server (a managed database) instead of a db host; DB_PASSWORD from the env
db_port: "port" = 3306  # the external database's port
db_lock_wait_seconds: "count" = 60  # MariaDB's lock_wait_timeout: how long a migration waits for a table held

log_dir: "folder" = None  # gunicorn access and error logs; None = /var/log/<app_name>
static_path = "app/static"  # app's static folder, relative to the checkout, served by nginx at /static

pip_index_url = None  # package index for pip; None = PyPI
pip_extra_args = ""  # more pip options, e.g. "--cert /path/ca.pem" or "--trusted-host mirror"
pip_constraints: "local_file" = None  # constraints file (pip -c); None = the known-good one for the article's repo

apt_cache_seconds: "seconds" = 3600  # refresh the apt cache only when older than this
acme_webroot: "folder" = "/var/www/acme"  # served at /.well-known/acme-challenge/ for certbot's webroot
client_max_body_size: "nginx_size" = "10m"  # largest request body nginx accepts
nginx_extra_directives = ""  # more nginx directives for the site's app server block (checked with nginx -t first)

tls = "letsencrypt"  # HTTPS certificate: "letsencrypt" (ACME via certbot), "self-signed", "files" (yours), or "off"
tls_certificate: "local_file" = None  # with tls = "files": your certificate's PEM file, its chain after it
tls_key: "local_file" = None  # with tls = "files": its private key's PEM file (unencrypted, not readable by all)
acme_email = None  # contact email of the ACME account; required with tls = "letsencrypt"
acme_directory: "https_url" = "https://acme-v02.api.letsencrypt.org/directory"  # Let's Encrypt's, or a private CA's
acme_staging: "flag" = False  # True: Let's Encrypt's staging directory instead, for trial runs
acme_ca_bundle: "local_file" = None  # CA bundle that signs the ACME directory's TLS certificate (private CAs)
hsts: "flag" = True  # send Strict-Transport-Security on HTTPS
public_https_port: "port" = 443  # HTTPS port the clients use; the HTTP redirect names it when it is not 443

releases_keep: "count" = 5  # releases kept on the server (older ones removed); `make rollback` goes back through them
backups_keep: "count" = 5  # dumps kept in /var/backups/<app_name>: one before each migration, `make backup`
backups_nightly_keep: "count" = 7  # nightly dumps kept, apart from the others (the timer's, on the migrating app host)
backup_time: "time_of_day" = "03:30"  # when the nightly dump is taken (HH:MM, the server's time zone)
backup_repository = None  # restic repository each dump is copied to: sftp:user@host:/path, rest:https://..., s3:...
backup_admin_repository = None  # the repository as this machine reaches it to forget snapshots; None = the same
backup_ssh_key = None  # local private key file of an sftp: backup_repository, installed for root alone
backup_ssh_host_key = None  # the sftp host's key (`ssh-keyscan -t ed25519 HOST`); None = pinned at first contact
backup_secrets = ()  # names of the repository's credentials (e.g. AWS_ACCESS_KEY_ID), from the environment or .env
backup_paths = ()  # folders of the app's shared folder copied off-site with each dump, e.g. ["uploads"]
backup_offsite_keep = {"daily": 7, "weekly": 4, "monthly": 12}  # snapshots kept off-site (restic forget --keep-*)
alert_url = None  # URL a failed backup, off-site copy, restore drill or deploy is POSTed to (JSON); None = none
health_check_path: "url_path" = "/"  # path requested through nginx after a switch, and at the end of every deploy
health_check_max_status: "http_status" = 499  # highest HTTP status that counts as healthy
health_check_seconds: "count" = 30  # how long a new release may take to pass the health check before it is rolled back
release_lock_seconds: "count" = 120  # how long a release waits for another one running on the same host
git_timeout_seconds: "count" = 300  # longest git fetch (or unpacking of a release)
build_timeout_seconds: "count" = 1200  # longest pip install of a release's requirements
migrate_timeout_seconds: "count" = 600  # longest `flask db upgrade` (or downgrade, or restore of a dump)
hooks_before_migrate: "commands" = ()  # as the app user, in a new release before it migrates, e.g. ["flask db check"]
hooks_after_switch: "commands" = ()  # run as the app user in a release once it serves; one that fails rolls it back
maintenance_for_breaking_migrations: "flag" = True  # maintenance while a `backward_compatible = False` migration runs
maintenance_page: "local_file" = None  # HTML file of the 503 page of `make maintenance`; None = our template
remove_app = None  # `make remove APP=<app_name>` only: the app taken off its servers, its name as a check
remove_data: "flag" = False  # with `make remove`: its database, database users and dumps go too
firewall: "flag" = True  # ufw: deny incoming traffic except SSH, 80 and 443
