"""Every route from the app user (the running app, once compromised) and the app's repository to
root, other accounts and the operator, tried as an attacker would on one real server, and closed:
a dump restored by root, a squatted port, links out of a release for nginx, a compromise that
would outlive its release, secrets re-adopted from the .env, escape sequences for the operator's
terminal, a grant wider than its database, credentials in URLs, and backups or switches the app
user could silence or stretch. (Bounded probes, a pure matter of the release program, are tested
without a server in test_release_probe.py.)

The server's database is `micro_blog`, whose `_` a GRANT would take as a wildcard, and MariaDB's
lock waits are 5 s, so that locked tables fail a backup in seconds."""

import io
import json
import os
import re
import shlex
import tarfile
import time

import pytest

from core.settings import environment
from testbed.client import http_get
from testbed.servers import APP_DIR, PROGRAM, Server

pytestmark = pytest.mark.e2e
SETTINGS = ("--data", "db_name=micro_blog", "--data", "db_lock_wait_seconds=5")
VENV_PYTHON = f"{APP_DIR}/current/venv/bin/python3"
# What the app user runs against its own database, as a compromised app would: its credentials
# are in its .env, and PyMySQL (the app's driver) has no client-side commands.
AS_APP_DATABASE = """
import re, sys, pymysql
from urllib.parse import unquote
url = re.search(r'DATABASE_URL="mysql\\+pymysql://microblog:([^@]+)@', open("{env}").read())
db = pymysql.connect(user="microblog", password=unquote(url.group(1)), database="micro_blog",
                     unix_socket="/run/mysqld/mysqld.sock", autocommit=True)
for statement in sys.argv[1:]:  # @PATH: the statement in that file
    db.cursor().execute(open(statement[1:]).read() if statement.startswith("@") else statement)
""".format(env=f"{APP_DIR}/shared/.env")


@pytest.fixture(scope="module")
def server(engine, state_dir, repo):
    instance = Server(state_dir, repo.path)
    first = deploy(instance)
    assert first.returncode == 0, first.output[-5000:]
    instance.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq vim-tiny >/dev/null")  # as real servers have
    put_file(instance, "/tmp/as_app_database.py", AS_APP_DATABASE.encode())
    yield instance
    instance.remove()


def deploy(server, *args, env=None):
    return server.deploy(*SETTINGS, *args, env=env)


def as_app(server, command):
    return server.sh(command, user="deploy")


def as_app_database(server, *statements, background=False):
    """SQL run as the app's database user, by the app user (in the background: a session kept open)."""
    command = shlex.join([VENV_PYTHON, "/tmp/as_app_database.py", *statements])
    return as_app(server, f"setsid nohup {command} >/dev/null 2>&1 &" if background else command)


def put_file(server, path, content):
    """A file anyone may read, on the server."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        entry = tarfile.TarInfo(os.path.basename(path))
        entry.size, entry.mode = len(content), 0o644
        archive.addfile(entry, io.BytesIO(content))
    server.container.put_archive(os.path.dirname(path), buffer.getvalue())


def page(server):
    return re.search(r"Microblog (v[\w.]+)", server.page()).group(1)


def released_by(server, repo, version, **changes):
    """The repository tags `version`; the deploy releases it; returns the deploy's result."""
    repo.release(version, **changes)
    return deploy(server)


def test_a_dump_the_app_shaped_runs_no_command_when_it_is_restored(server):
    """A stored routine whose body MariaDB keeps as a comment (--\\x01) but the command-line client
    reads as its \\e (edit) command: vi, here vim-tiny, then takes the rest of the dump as keys."""
    marker = server.sh("date +%s.%N")
    keys = "\n".join(f"--\x01 {line}" for line in (":!id > /tmp/restore-ran-as", ":!touch /root/restore-pwned", ":qa!"))
    body = f"BEGIN --\x01 \\e\n-- {'x' * 2_000_000}\n{keys}\n SELECT 1; END"
    put_file(server, "/tmp/routine.sql", f"CREATE PROCEDURE p() {body}".encode())
    as_app_database(server, "DROP PROCEDURE IF EXISTS p", "@/tmp/routine.sql")
    backup = server.make("backup")
    assert backup.returncode == 0, backup.output
    restore = server.make("restore")
    assert server.sh("ls /root/restore-pwned 2>/dev/null || true") == ""
    assert "uid=0" not in server.sh("cat /tmp/restore-ran-as 2>/dev/null || true")
    assert server.sh(f"find / -xdev -newermt @{marker} -user root -name '*pwned*' 2>/dev/null || true") == ""
    # the client refuses the dump's client command (nothing of it ran), and says where
    assert restore.returncode != 0 and "Unknown command '\\e'" in restore.output, restore.output[-3000:]
    assert "the restore stopped part way" in restore.output and "before-restore.sql.gz" in restore.output
    assert "the site is live" in restore.output and http_get(server.https_url + "/")[0] == 200
    server.sh("mysql -e 'DROP PROCEDURE IF EXISTS p' micro_blog")  # (the dump dropped it before it failed)
    assert server.make("backup").returncode == 0
    again = server.make("restore")  # a dump without it restores as ever
    assert again.returncode == 0 and "database restored from" in again.output, again.output[-3000:]


def test_a_process_on_the_idle_port_fails_the_switch_naming_it_and_the_site_stays(server, repo):
    status = server.release_status()
    idle = 8001 if status["live"] == "blue" else 8000
    as_app(server, f"cd /tmp && setsid nohup python3 -m http.server --bind 127.0.0.1 {idle} >/dev/null 2>&1 &")
    server.sh(f"for i in $(seq 50); do ss -Hltn 'sport = :{idle}' | grep -q . && exit; sleep 0.1; done; exit 1")
    try:
        result = released_by(server, repo, "v1.2.0")
    finally:
        server.sh("pkill -u deploy -f http.server || true")
    assert result.returncode != 0
    assert f"v1.2.0 is not released: port {idle} of microblog-" in result.output  # before any migration
    assert "held by user deploy (uid 1000): process" in result.output and "http.server" in result.output
    assert f"{status['serving']} still serves" in result.output
    assert server.release_status()["serving"] == status["serving"] and page(server) == status["serving"]
    assert server.make("history").stdout.splitlines()[-1].count("FAILED deploy of v1.2.0")
    again = deploy(server)
    assert again.returncode == 0, again.output[-3000:]
    assert page(server) == "v1.2.0" and "uid:" not in server.sh(f"ss -Hltne 'sport = :{idle}'")  # root's socket


def test_nginx_follows_no_link_out_of_the_release_whoever_made_it(server, repo):
    static = os.path.join(repo.path, "app", "static")
    os.rename(os.path.join(static, "style.css"), os.path.join(repo.path, "style.css"))
    os.rmdir(static)
    os.symlink("/var/log/nginx", static)  # the repository's own link, at the static folder itself
    repo.git("add", "-A")
    result = released_by(server, repo, "v1.3.0")
    assert result.returncode == 0, result.output[-3000:]
    assert http_get(server.https_url + "/static/access.log")[0] in (403, 404)
    os.unlink(static)
    os.mkdir(static)
    os.rename(os.path.join(repo.path, "style.css"), os.path.join(static, "style.css"))
    os.symlink("/var/log/nginx", os.path.join(static, "logs"))  # deeper in it
    os.symlink("style.css", os.path.join(static, "same.css"))  # within the release: not followed either
    repo.git("add", "-A")
    result = released_by(server, repo, "v1.3.1")
    assert result.returncode == 0, result.output[-3000:]
    assert http_get(server.https_url + "/static/style.css")[0] == 200
    for path in ("/static/logs/access.log", "/static/same.css"):
        assert http_get(server.https_url + path)[0] in (403, 404), path
    # and the running app cannot make one: the release is the build account's
    swap = as_app(server, f"ln -sfn /var/log/nginx {APP_DIR}/releases/v1.3.1/app/static/x 2>&1 || true")
    assert "Permission denied" in swap
    os.unlink(os.path.join(static, "logs"))
    os.unlink(os.path.join(static, "same.css"))
    repo.git("add", "-A")


def test_what_the_running_app_writes_changes_no_release_and_reaches_no_later_one(server, repo):
    site_packages = server.sh(f"ls -d {APP_DIR}/current/venv/lib/python3*/site-packages")
    planted = "import os; open('/tmp/planted-ran-as-' + str(os.getuid()), 'w')\n"
    for target in (f"{site_packages}/evil.pth", f"{APP_DIR}/current/app/__init__.py", f"{APP_DIR}/repo/config"):
        assert "Permission denied" in as_app(server, f"echo x >> {target} 2>&1 || true"), target
    # what the app user can write: its home, its .env
    user_site = as_app(server, "python3 -c 'import site; print(site.getusersitepackages())'")
    as_app(server, f"mkdir -p {user_site} && printf %s {shlex.quote(planted)} > {user_site}/evil.pth")
    pip_conf = "[global]\nindex-url = http://127.0.0.1:9/\n"  # pip would fail, if it read it
    as_app(server, f"mkdir -p ~/.config/pip && printf %s {shlex.quote(pip_conf)} > ~/.config/pip/pip.conf")
    as_app(server, "printf '[url \"file:///nowhere/\"]\\n\\tinsteadOf = /\\n' > ~/.gitconfig")
    evil = f"{APP_DIR}/shared/evil"
    as_app(server, f"mkdir -p {evil} && printf %s {shlex.quote(planted)} > {evil}/sitecustomize.py")
    as_app(server, f"echo 'PYTHONPATH=\"{evil}\"' >> {APP_DIR}/shared/.env")
    program = server.live_program()
    server.sh(f"kill -9 $(supervisorctl pid {program})")  # supervisor starts it again, with that .env
    server.sh(f"for i in $(seq 100); do supervisorctl status {program} | grep -q RUNNING && exit; sleep 0.1; done")
    master = server.sh(f"supervisorctl pid {program}")
    assert "PYTHONPATH=" not in server.sh(f"tr '\\0' '\\n' < /proc/{master}/environ")
    assert http_get(server.https_url + "/")[0] == 200
    with open(os.path.join(repo.path, "requirements.txt")) as handle:
        requirements = handle.read()
    result = released_by(server, repo, "v1.4.0", files=[("requirements.txt", requirements + "six==1.16.0\n")])
    assert result.returncode == 0, result.output[-3000:]  # pip and git read none of the app user's files
    assert "installing requirements.txt" in server.sh("tail -n 60 /var/lib/microblog/release.log")
    assert page(server) == "v1.4.0"
    assert server.sh("ls /tmp/planted-ran-as-* 2>/dev/null || true") == ""
    as_app(server, f"rm -rf ~/.local ~/.config ~/.gitconfig {evil}")


def test_root_takes_no_secret_from_the_app_users_env(server):
    planted_key, planted_password = "planted-key-0123456789abcdef", "planted-pw-0123456789"
    server.sh("rm /etc/microblog/secrets.env")
    env_file = f"{APP_DIR}/shared/.env"
    url = f"mysql+pymysql://microblog:{planted_password}@localhost:3306/micro_blog"
    as_app(server, f'printf \'SECRET_KEY="%s"\\nDATABASE_URL="%s"\\n\' {planted_key} {url} > {env_file}')
    result = deploy(server)
    assert result.returncode == 0, result.output[-3000:]
    assert "root's copy of the secrets (/etc/microblog/secrets.env) is gone: new SECRET_KEY and DB_PASSWORD" in (
        result.output
    )
    kept = server.sh("cat /etc/microblog/secrets.env")
    assert planted_key not in kept and planted_password not in kept and "SECRET_KEY=" in kept
    assert planted_key not in server.sh(f"cat {env_file}") and http_get(server.https_url + "/")[0] == 200
    refused = server.sh(f"mysql -u microblog -p{planted_password} -e 'SELECT 1' micro_blog 2>&1 || true")
    assert "Access denied" in refused


def test_text_from_the_server_reaches_the_operators_terminal_with_its_escapes_shown(server, repo):
    title = "\x1b]0;owned\x07\x1b[2J"
    as_app(server, f"printf '%s tampered line\\n' {shlex.quote(title)} >> /var/log/microblog/access.log")
    logs = server.make("logs", LINES=5)
    assert "tampered line" in logs.output and "\x1b]0;owned" not in logs.output and "\x07" not in logs.output
    assert "\\x1b]0;owned\\x07\\x1b[2J tampered line" in logs.output
    hook = "sh -c \"printf '\\033]0;owned\\007\\033[2J hook output\\n'; exit 1\""
    repo.release("v1.5.0")
    failed = deploy(server, "--data", f"hooks_before_migrate={json.dumps([hook])}")
    assert failed.returncode != 0 and "hook output" in failed.output
    assert "\x1b]0;owned" not in failed.output and "\\x1b]0;owned\\x07" in failed.output
    history = server.make("history")
    assert "\x1b" not in history.output and "\x07" not in history.output
    assert deploy(server).returncode == 0 and page(server) == "v1.5.0"


def test_the_grant_covers_its_database_and_not_the_names_its_underscore_matches(server):
    grants = server.sh("mysql -N -r -e \"SHOW GRANTS FOR 'microblog'@'localhost'\"")
    assert "`micro\\_blog`.*" in grants, grants
    server.sh("mysql -e 'CREATE DATABASE microXblog; CREATE TABLE microXblog.t (secret TEXT)'")
    try:
        denied = as_app_database_error(server, "SELECT * FROM microXblog.t")
        assert "denied" in denied, denied
        # a grant an earlier version made (the wildcard) is taken back by the next deploy
        server.sh("mysql -e \"GRANT ALL ON \\`micro_blog\\`.* TO 'microblog'@'localhost'\"")
        assert "denied" not in as_app_database_error(server, "SELECT * FROM microXblog.t")
        result = deploy(server)
        assert result.returncode == 0, result.output[-3000:]
        assert "denied" in as_app_database_error(server, "SELECT * FROM microXblog.t")
        assert http_get(server.https_url + "/")[0] == 200
    finally:
        server.sh("mysql -e 'DROP DATABASE microXblog'")


def as_app_database_error(server, statement):
    command = shlex.join([VENV_PYTHON, "/tmp/as_app_database.py", statement])
    return as_app(server, f"{command} 2>&1 | tail -n 1 || true")


def test_credentials_in_urls_are_refused_and_the_secret_index_reaches_pip_alone(server, repo):
    before = server.sh("sha1sum /etc/microblog/release.json")
    refused = deploy(server, "--data", "repo=https://someone:ghp-token-in-url@git.example.org/app.git")
    assert refused.returncode != 0 and "`repo`" in refused.output and "holds credentials" in refused.output
    assert "ghp-token-in-url" not in refused.output  # not even said back
    assert server.sh("sha1sum /etc/microblog/release.json") == before  # refused before connecting
    token = "s3cret-index-token-" + os.urandom(6).hex()
    index = f"https://someone:{token}@pypi.org/simple"
    with open(os.path.join(repo.path, "requirements.txt")) as handle:
        requirements = handle.read()
    repo.release("v1.6.0", files=[("requirements.txt", requirements.replace("six==1.16.0\n", "") + "six==1.17.0\n")])
    with server.command_lines() as samples:
        result = deploy(server, "-vvv", env={environment.PIP_INDEX_URL: index})
    assert result.returncode == 0, result.output[-3000:]
    assert page(server) == "v1.6.0" and len(samples[0].splitlines()) > 100
    assert "installing requirements.txt" in server.sh("tail -n 60 /var/lib/microblog/release.log")
    assert token not in result.output and token not in samples[0]
    kept = server.sh(f"grep -rlF {token} /var/log /var/lib/microblog /etc /srv /home /tmp || true")
    assert sorted(kept.split()) == ["/etc/microblog/pip.conf", "/etc/microblog/secrets.env"]
    assert server.sh("stat -c '%a %U %G' /etc/microblog/pip.conf") == "640 root deploy_build"
    assert "Permission denied" in as_app(server, "cat /etc/microblog/pip.conf 2>&1 || true")


def test_the_app_user_cannot_silence_a_backup_or_stretch_a_switch(server, repo):
    as_app_database(server, "LOCK TABLES post WRITE", "DO SLEEP(60)", background=True)
    time.sleep(1)
    try:
        server.sh("systemctl start microblog-backup.service || true")  # the timer's nightly dump
        status = server.make("status")
        assert status.returncode != 0 and "UNHEALTHY" in status.output
        assert "the nightly backup of 20" in status.output and "Lock wait timeout" in status.output, status.output
        result = released_by(server, repo, "v1.7.0")
        assert result.returncode != 0 and "the migration of v1.7.0 did not run: " in result.output, result.output
        assert "v1.6.0 still serves" in result.output and server.release_status()["serving"] == "v1.6.0"
    finally:
        as_app(server, "pkill -f 'as_app_database[.]py' || true")
    server.sh("systemctl start microblog-backup.service")
    assert server.make("status").returncode == 0
    # nginx-titled processes and a connection of its own to the live port: the switch waits for neither
    live_port = 8000 if server.release_status()["live"] == "blue" else 8001
    impostor = "$0 = 'nginx: worker process is shutting down'; sleep 120"
    holder = f"import socket, time; s = socket.create_connection(('127.0.0.1', {live_port})); time.sleep(120)"
    for command in (["perl", "-e", impostor], ["python3", "-c", holder]):
        as_app(server, f"setsid nohup {shlex.join(command)} >/dev/null 2>&1 &")
    try:
        result = deploy(server)
    finally:
        as_app(server, "pkill -u deploy perl; pkill -u deploy -f 'socket[.]create_connection' || true")
    assert result.returncode == 0 and page(server) == "v1.7.0", result.output[-3000:]
    assert "waited 30 s for nginx" not in server.sh("tail -n 40 /var/lib/microblog/release.log")
    seconds = json.loads(server.sh(f"{PROGRAM} history --json"))[-1]["seconds"]
    assert seconds["switch"] < 15, seconds
