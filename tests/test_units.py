"""Fast tests of the settings, templates and release resolution (no server needed)."""

import os
import re
import runpy
import subprocess
import sys
from types import SimpleNamespace

import pytest
from pyinfra.api import OperationError

from tasks.checks import layout_problems, problems
from tasks.common import Certificate, Settings, render_template, resolve_local_ref
from tasks.layout import Layout
from tests import sample_repo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULTS = runpy.run_path(os.path.join(ROOT, "group_data", "all.py"))
SETTINGS = Settings(app_name="microblog", app_user="deploy", home="/home/deploy", app_dir="/home/deploy/microblog",
                    repo_dir="/home/deploy/microblog/repo", current="/home/deploy/microblog/current",
                    env_file="/home/deploy/microblog/shared/.env", release_script="/usr/local/sbin/microblog-release",
                    backup_dir="/var/backups/microblog", log_dir="/var/log/microblog",
                    static_dir="/home/deploy/microblog/current/app/static",
                    server_names=("example.org", "www.example.org"), workers=4, bind="127.0.0.1:8000",
                    db_name="microblog", db_user="microblog")
DATA = SimpleNamespace(**{k: v for k, v in DEFAULTS.items() if not k.startswith("_")})


SITE = {"upstream": ["127.0.0.1:8000"], "down": [], "static_from_disk": True}


def render(name, **context):
    return render_template(name, SETTINGS, DATA, **context)


def render_site(certificate=None, data=DATA, **context):
    return render_template("nginx-site.conf.j2", SETTINGS, data, certificate=certificate, **{**SITE, **context})


def test_every_setting_has_a_one_line_comment():
    with open(os.path.join(ROOT, "group_data", "all.py")) as handle:
        assignments = [line for line in handle if re.match(r"^[a-z_]+ = ", line)]
    assert len(assignments) == len([k for k in DEFAULTS if not k.startswith("_")])
    assert all("  # " in line for line in assignments), [line for line in assignments if "  # " not in line]


def test_defaults_follow_the_article():
    assert DEFAULTS["app_name"] == "microblog" and DEFAULTS["app_user"] == "deploy"
    assert DEFAULTS["repo"] == "https://github.com/dbwebb-se/microblog.git"
    assert DEFAULTS["bind"] == "127.0.0.1:8000" and DEFAULTS["app_module"] == "microblog:app"


def test_nginx_site_proxies_to_gunicorn_serves_static_and_acme():
    site = render_site()
    assert re.search(r"upstream microblog_app \{\s*server 127.0.0.1:8000 max_fails=3 fail_timeout=10s;\s*\}", site)
    assert "proxy_pass http://microblog_app;" in site and "X-Upstream" not in site
    for header in ("Host $http_host", "X-Real-IP $remote_addr", "X-Forwarded-For $proxy_add_x_forwarded_for",
                   "X-Forwarded-Proto $scheme"):
        assert f"proxy_set_header {header};" in site
    static = re.search(r"location /static/ \{(.*?)\}", site, re.S).group(1)
    assert "alias /home/deploy/microblog/current/app/static/;" in static and "expires 30d;" in static
    assert re.search(r"location \^~ /\.well-known/acme-challenge/ \{\s*root /var/www/acme;", site)
    assert "server_name example.org www.example.org;" in site and "server_tokens off;" in site


def test_nginx_https_site_redirects_http_and_speaks_modern_tls_only():
    certificate = Certificate("/etc/letsencrypt/live/microblog/fullchain.pem", "/etc/letsencrypt/live/microblog/privkey.pem")
    site = render_site(certificate)
    plain, secure = site.split("listen 443", 1)
    assert "location ^~ /.well-known/acme-challenge/" in plain
    assert "return 301 https://$host$request_uri;" in plain and "proxy_pass" not in plain
    assert "listen 443 ssl http2;" in site and "listen [::]:443 ssl http2;" in secure
    assert f"ssl_certificate {certificate.fullchain};" in secure and f"ssl_certificate_key {certificate.privkey};" in secure
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in secure and "ssl_session_cache shared:" in secure
    assert 'add_header Strict-Transport-Security "max-age=63072000" always;' in secure
    assert "proxy_pass http://microblog_app;" in secure and "expires 30d;" in secure and "server_tokens off;" in secure

    other = render_site(certificate, SimpleNamespace(**{**vars(DATA), "hsts": False, "public_https_port": 8443}))
    assert "Strict-Transport-Security" not in other and "return 301 https://$host:8443$request_uri;" in other


def test_supervisor_program_keeps_gunicorn_alive_on_loopback():
    program = render("supervisor.conf.j2", forwarded_allow_ips="")
    assert "[program:microblog]" in program and "user=deploy" in program
    for flag in ("autostart", "autorestart", "stopasgroup", "killasgroup"):
        assert f"{flag}=true" in program
    command = re.search(r"^command=(.*)$", program, re.M).group(1)
    # through `current`, so that a graceful reload loads the release it points at
    assert command.startswith("/home/deploy/microblog/current/venv/bin/python3 -m gunicorn "
                              "--chdir /home/deploy/microblog/current -b 127.0.0.1:8000 -w 4 ")
    assert "directory=/home/deploy/microblog\n" in program  # outlives every release
    assert "--access-logfile /var/log/microblog/access.log" in command
    assert "--error-logfile /var/log/microblog/error.log" in command and command.endswith(" microblog:app")


def test_env_file_holds_the_secret_key_and_database_url():
    url = "mysql+pymysql://microblog:pw@localhost:3306/microblog"
    env = render("env.j2", secret_key="s3cret", database_url=url)
    assert 'SECRET_KEY="s3cret"' in env and f'DATABASE_URL="{url}"' in env


def test_release_script_is_valid_bash_with_every_value_quoted(tmp_path):
    script = tmp_path / "release.sh"
    script.write_text(render("release.sh.j2", pip_options=["--index-url", "https://pypi.example.org/simple"],
                             health_url="https://example.org/", health_curl=["-k", "--resolve", "example.org:443:127.0.0.1"],
                             db_client_file=None))
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert "PIP_OPTIONS=(--index-url https://pypi.example.org/simple)" in text
    assert "HEALTH_CURL=(-k --resolve example.org:443:127.0.0.1)" in text and "KEEP_RELEASES=5" in text


def test_mariadb_listens_on_loopback_only():
    assert "bind-address = 127.0.0.1" in render("mariadb.cnf.j2", bind_address="127.0.0.1")


def test_a_split_layout_binds_private_addresses_and_balances_over_the_app_hosts():
    layout = Layout(web=("web",), app=("app1", "app2"), db="db",
                    addresses=(("web", "10.0.0.1"), ("app1", "10.0.0.2"), ("app2", "10.0.0.3"), ("db", "10.0.0.4")))
    assert layout.upstream("127.0.0.1:8000") == ["10.0.0.2:8000", "10.0.0.3:8000"]
    assert layout.db_address == "10.0.0.4" and layout.db_clients == ("10.0.0.2", "10.0.0.3")
    assert not layout.serves_static_itself("web") and layout.migrating_host == "app1"
    site = render_site(upstream=layout.upstream("127.0.0.1:8000"), down=["10.0.0.2:8000"], static_from_disk=False,
                       data=SimpleNamespace(**{**vars(DATA), "expose_upstream_addr": True}))
    assert "server 10.0.0.2:8000 max_fails=3 fail_timeout=10s down;" in site
    assert "server 10.0.0.3:8000 max_fails=3 fail_timeout=10s;" in site
    static = re.search(r"location /static/ \{(.*?)\n    \}", site, re.S).group(1)
    assert "proxy_pass http://microblog_app;" in static and "expires 30d;" in static and "alias" not in static
    assert "add_header X-Upstream $upstream_addr always;" in site

    alone = Layout(web=("one",), app=("one",), db="one", addresses=(("one", "127.0.0.1"),))
    assert alone.upstream("127.0.0.1:8000") == ["127.0.0.1:8000"] and alone.db_clients == ("localhost",)
    assert alone.db_address == "127.0.0.1" and alone.serves_static_itself("one")


def test_layout_problems_name_the_setting_to_fix():
    assert layout_problems({"web": ["a"], "app": ["a"], "db": ["a"]}, {"a": "a.example.org"}) == []
    found = layout_problems({"web": ["w"], "app": ["a"], "db": ["d1", "d2"]},
                            {"w": "10.0.0.1", "a": "app.example.org", "d1": "10.0.0.3", "d2": "10.0.0.4"})
    assert any("2 database hosts" in problem and "DEPLOY_DB_HOST" in problem for problem in found)
    assert any(problem.startswith("a needs the IP address") and "a=PRIVATE_IP" in problem for problem in found)


def test_a_layout_with_two_db_hosts_or_no_private_addresses_stops_before_any_connection(tmp_path):
    env = {**os.environ, "DEPLOY_WEB_HOSTS": "web.example.org", "DEPLOY_APP_HOSTS": "app1.example.org=10.0.0.11",
           "DEPLOY_DB_HOST": "db1.example.org=10.0.0.21,db2.example.org=10.0.0.22",
           "DEPLOY_SSH_KNOWN_HOSTS": str(tmp_path / "known_hosts")}
    env.pop("DEPLOY_HOSTS", None)
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "pyinfra"), "-y", "inventory.py",
                             "deploy.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "The servers need fixing before anything changes" in output
    assert "2 database hosts (db1.example.org, db2.example.org): name exactly one in DEPLOY_DB_HOST" in output
    assert "web.example.org needs the IP address the other hosts reach it at" in output
    assert "Connecting to hosts" not in output


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("repo") / "app")
    return sample_repo.build(path)


def test_latest_tag_is_picked_as_the_article_does_not_the_untagged_head(repository):
    commit, name = resolve_local_ref(repository.path, None)
    assert name == "v1.1.0"
    assert commit == repository.git("rev-parse", "v1.1.0^{commit}") != repository.git("rev-parse", "HEAD")


def test_a_pinned_ref_is_deployed_and_a_missing_one_is_a_clear_error(repository):
    assert resolve_local_ref(repository.path, "v1.0.0")[1] == "v1.0.0"
    assert resolve_local_ref(repository.path, "main")[0] == repository.git("rev-parse", "HEAD")
    with pytest.raises(OperationError, match=r"setting `ref`\) does not exist"):
        resolve_local_ref(repository.path, "v9.9.9")


def test_a_repository_without_tags_is_a_clear_error(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "untagged"], check=True)
    with pytest.raises(OperationError, match="has no tag.*set `ref`"):
        resolve_local_ref(str(tmp_path), None)


def settings(**overrides):
    return {**DEFAULTS, **overrides}


def test_default_settings_pass_with_an_email_and_a_public_domain():
    assert problems(settings(domain="blog.example.org", acme_email="ops@example.org")) == []
    assert problems(settings(tls="self-signed")) == []  # localhost is fine without a public CA


def test_letsencrypt_needs_an_email_and_a_public_dns_name():
    found = problems(settings(domain="localhost"))
    assert any(p.startswith("`acme_email` is required") for p in found)
    assert any("`domain` = 'localhost' is not a public DNS name" in p for p in found)
    for name in ("203.0.113.7", "blog.test", "intranet", "app.localhost"):
        assert any("not a public DNS name" in p for p in problems(settings(domain=name, acme_email="a@b.org"))), name


def test_bad_settings_are_all_reported_at_once_with_the_setting_named():
    found = problems(settings(app_user="x; rm -rf /", workers=0, bind="8000", tls="sometimes",
                              domain="bad domain", repo="/no/such/repository"))
    assert len(found) == 6
    for setting in ("app_user", "workers", "bind", "tls", "domain", "repo"):
        assert any(f"`{setting}`" in problem for problem in found), setting
