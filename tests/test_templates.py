"""The config files the deploy renders: nginx, supervisor, .env, MariaDB, the release program's
settings."""

import json
import os
import re
import subprocess
import sys
from dataclasses import fields

from core.glue.render import render_text
from core.plan.apps_here import record
from core.plan.tls import Certificate, app_certificate
from core.settings.program_config import derived, program_config
from flask_release.config import Config
from tasks.nginx import catch_all_config
from tests.helpers import SPREAD, settings_of

CERTIFICATE = Certificate(
    "/etc/letsencrypt/live/microblog/fullchain.pem", "/etc/letsencrypt/live/microblog/privkey.pem"
)


def site(s=None, certificate=None, down=()):
    return render_text(
        "nginx-site.conf.j2", s or settings_of(domain="example.org"), certificate=certificate, down=list(down)
    )


def test_nginx_site_proxies_to_gunicorn_serves_static_and_acme():
    text = site()
    # one host: nginx takes the live color (blue or green) from the link the release program flips
    assert re.search(r"upstream microblog_app \{[^}]*include /etc/nginx/microblog/live.conf;\s*\}", text)
    blue = render_text("nginx-upstream.conf.j2", settings_of(), color="blue", address="127.0.0.1:8000")
    assert "server 127.0.0.1:8000 max_fails=3 fail_timeout=10s;" in blue
    assert "proxy_pass http://microblog_app;" in text and "X-Upstream" not in text
    for header in (
        "Host $http_host",
        "X-Real-IP $remote_addr",
        "X-Forwarded-For $remote_addr",
        "X-Forwarded-Proto $scheme",
    ):
        assert f"proxy_set_header {header};" in text
    static = re.search(r"location /static/ \{(.*?)\}", text, re.S).group(1)
    # the serving release's folder, by its real path: the release program writes it at each switch
    assert "include /etc/nginx/microblog/static[.]conf;" in static and "expires 30d;" in static
    assert "disable_symlinks on;" in static and "alias" not in static
    assert re.search(r"location \^~ /\.well-known/acme-challenge/ \{\s*root /var/www/acme;", text)
    assert "server_name example.org www.example.org;" in text and "server_tokens off;" in text


def test_maintenance_rules_are_included_where_users_go_and_the_servers_and_health_path_pass():
    s = settings_of(domain="example.org", layout=SPREAD, name="web", health_check_path="/health?full=1")
    text = site(s, certificate=CERTIFICATE)
    geo = re.search(r"geo \$microblog_from_servers \{(.*?)\}", text, re.S).group(1).split()
    assert geo == ["default", "0;", "127.0.0.1", "1;", "::1", "1;"] + [
        word for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4") for word in (address, "1;")
    ]
    include = "include /etc/nginx/microblog/maintenance[.]conf;"  # a glob: no file, no rules
    for location in ("location / {", "location /static/ {"):
        assert include in text.rsplit(location, 1)[1].split("}", 1)[0]  # the site's, not the redirect's
    assert include not in text.split('location = "/health" {', 1)[1].split("}", 1)[0]
    assert "error_page 503 @maintenance;" in text and "try_files /maintenance.html =503;" in text
    assert 'location = "/' not in site(settings_of(domain="example.org"))  # health path / is the site itself
    rules = render_text("maintenance.conf.j2", s)
    assert "if ($microblog_from_servers = 0) {\n    return 503;\n}" in rules
    assert "example.org is being updated" in render_text("maintenance.html.j2", s)


def test_the_nightly_backup_timer_runs_the_release_program():
    s = settings_of(backup_time="04:15")
    assert "OnCalendar=*-*-* 04:15:00" in render_text("backup.timer.j2", s)
    service = render_text("backup.service.j2", s)
    assert "ExecStart=/usr/local/sbin/microblog-release --by nightly-timer backup --nightly" in service


def test_forwarding_headers_are_nginx_s_alone():
    text = site()
    assert "$proxy_add_x_forwarded_for" not in text
    for header in ("X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Ssl", "X-Forwarded-Protocol", "Forwarded"):
        assert f'proxy_set_header {header} "";' in text, header


def catch_all(s, certificate, records):
    return catch_all_config(s, certificate, records).getvalue()


def test_unknown_host_names_are_refused_on_80_and_443_by_one_catch_all_of_every_app():
    s = settings_of(domain="example.org")
    assert "default_server" not in site(s, CERTIFICATE)  # the site leaves it to the catch-all
    text = catch_all(s, CERTIFICATE, {})
    refusing = re.findall(r"server \{\s*listen (\d+)( ssl)? default_server;.*?\n\}", text, re.S)
    assert [port for port, _ in refusing] == ["80", "443"]
    default_443 = re.search(r"listen 443 ssl default_server;(.*?)\n\}", text, re.S).group(1)
    assert "ssl_reject_handshake on;" in default_443 and "return 444;" in default_443
    assert "443" not in catch_all(settings_of(tls="off"), None, {})
    # Named by an IP address (the local server), clients send no TLS server name: the handshake is
    # kept, with that app's certificate, whichever app's deploy writes it.
    local = settings_of(server_names=["localhost", "127.0.0.1"], tls="self-signed", public_https_port=8443)
    hello = settings_of(app_name="hello", server_names=["hello.localhost"], tls="self-signed")
    for text in (
        catch_all(local, app_certificate("microblog", "self-signed"), {"hello": record(hello)}),
        catch_all(hello, app_certificate("hello", "self-signed"), {"microblog": record(local)}),
    ):
        default_443 = re.search(r"listen 443 ssl default_server;(.*?)\n\}", text, re.S).group(1)
        assert "ssl_reject_handshake" not in default_443 and "return 444;" in default_443
        assert "ssl_certificate /etc/ssl/microblog/fullchain.pem;" in default_443
    assert "proxy_set_header Host $host:8443;" in site(local, CERTIFICATE)


def test_nginx_speaks_http2_in_the_syntax_of_the_hosts_release():
    bookworm = site(settings_of(), CERTIFICATE)  # nginx 1.22
    assert "listen 443 ssl http2;" in bookworm and "http2 on;" not in bookworm
    trixie = site(settings_of(debian=13), CERTIFICATE)  # nginx 1.26: `listen ... http2` is deprecated there
    secure = trixie.split("listen 443 ssl;", 1)[1]
    assert "listen [::]:443 ssl;" in secure and "http2 on;" in secure and " http2;" not in trixie


def test_nginx_https_site_redirects_http_and_speaks_modern_tls_only():
    text = site(certificate=CERTIFICATE)
    plain = re.search(r"listen 80;(.*?)\n\}", text, re.S).group(1)
    secure = text.split("listen 443 ssl http2;", 1)[1]
    assert "location ^~ /.well-known/acme-challenge/" in plain
    assert "return 301 https://$host$request_uri;" in plain and "proxy_pass" not in plain
    assert "listen [::]:443 ssl http2;" in secure
    assert (
        f"ssl_certificate {CERTIFICATE.fullchain};" in secure
        and f"ssl_certificate_key {CERTIFICATE.privkey};" in secure
    )
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in secure and "ssl_session_cache shared:" in secure
    assert 'add_header Strict-Transport-Security "max-age=63072000" always;' in secure
    assert "proxy_pass http://microblog_app;" in secure and "expires 30d;" in secure and "server_tokens off;" in secure

    other = site(settings_of(domain="example.org", hsts=False, public_https_port=8443), CERTIFICATE)
    assert "Strict-Transport-Security" not in other and "return 301 https://$host:8443$request_uri;" in other


def test_a_split_layout_balances_over_the_app_hosts_with_one_taken_out():
    web = settings_of("web", SPREAD, expose_upstream_addr=True)
    text = site(web, down=["app1"])
    for port in (8000, 8001):  # both colors: one runs, the other is skipped
        assert f"server 10.0.0.2:{port} max_fails=3 fail_timeout=10s down;" in text
        assert f"server 10.0.0.3:{port} max_fails=3 fail_timeout=10s;" in text
    static = re.search(r"location /static/ \{(.*?)\n    \}", text, re.S).group(1)
    assert "proxy_pass http://microblog_app;" in static and "expires 30d;" in static and "alias" not in static
    assert "add_header X-Upstream $upstream_addr always;" in text


def test_supervisor_keeps_gunicorn_alive_in_two_colors_on_loopback():
    programs = dict(
        re.findall(
            r"^\[program:([\w-]+)\]\n(.*?)(?=^\[|\Z)", render_text("supervisor.conf.j2", settings_of()), re.M | re.S
        )
    )
    assert set(programs) == {"microblog-blue", "microblog-green", "microblog-live"}
    for color, port in (("blue", 8000), ("green", 8001)):
        program = programs[f"microblog-{color}"]
        assert "directory=/srv/microblog\n" in program  # outlives releases
        assert "user=" not in program  # app-exec binds the port as root, then becomes the app user
        for flag in ("autorestart", "stopasgroup", "killasgroup"):
            assert f"{flag}=true" in program
        assert "stopsignal=QUIT" in program  # after the drain: no worker waits on an idle connection
        assert "autostart=false" in program  # the release program starts the live color
        command = re.search(r"^command=(.*)$", program, re.M).group(1)
        # on root's socket, with the app's .env in its environment (read as the app user), through
        # its slot, which the release program points at the release the color runs
        assert command.startswith(
            f"/usr/local/sbin/microblog-release app-exec --listen 127.0.0.1:{port} "
            f"/srv/microblog/slots/{color}/venv/bin/python3 -m gunicorn "
            f"--chdir /srv/microblog/slots/{color} -b fd://3 -w 4 "
        )
        assert "--forwarded-allow-ips 127.0.0.1 " in command
        assert "--access-logfile /var/log/microblog/access.log" in command
        assert "--error-logfile /var/log/microblog/error.log" in command and command.endswith(" microblog:app")
    live = programs["microblog-live"]  # at boot: the live color started again
    assert "command=/usr/local/sbin/microblog-release start-live" in live and "autostart=true" in live


def test_env_file_and_secrets_hold_what_the_app_and_root_need():
    url = "mysql+pymysql://microblog:pw@localhost:3306/microblog"
    env = render_text("env.j2", settings_of(), secret_key="s3cret", database_url=url)
    assert 'SECRET_KEY="s3cret"' in env and f'DATABASE_URL="{url}"' in env
    client = render_text("mysql-client.cnf.j2", settings_of(), db_password="pw")
    assert "host = localhost" in client and "user = microblog" in client and 'password = "pw"' in client
    spread = render_text("mysql-client.cnf.j2", settings_of("app1", SPREAD), db_password="pw")
    assert "host = 10.0.0.4" in spread


def test_mariadb_listens_on_loopback_and_bounds_lock_waits():
    config = render_text("mariadb.cnf.j2", settings_of())
    assert "bind-address = 127.0.0.1" in config and "lock_wait_timeout = 60" in config
    assert "skip-name-resolve" in render_text("mariadb.cnf.j2", settings_of("db", SPREAD))


def test_the_release_program_settings_are_the_settings_under_their_own_names():
    """Each field of the program's config is the Settings attribute of its name, but the few the
    host's place in the layout decides: a setting the program reads is declared once."""
    s = settings_of()
    written = json.loads(program_config(s))
    assert sorted(written) == sorted(field.name for field in fields(Config))
    for name, value in written.items():
        if name not in derived(s):
            expected = getattr(s, name)
            assert value == json.loads(json.dumps(expected)), name


def test_the_release_program_settings_load_as_the_program_reads_them(tmp_path):
    s = settings_of(
        tls="self-signed", pip_extra_args="--trusted-host 'a b'", hooks_after_switch=["flask translate compile", "true"]
    )
    text = program_config(s)
    path = tmp_path / "release.json"
    path.write_text(text)
    config = Config.load(str(path))
    assert config.hooks_after_switch == (("flask", "translate", "compile"), ("true",))
    assert config.hooks_before_migrate == () and config.roles == ("app", "db", "web")
    assert config.maintenance_link == "/etc/nginx/microblog/maintenance.conf"
    assert config.certificate == "/etc/ssl/microblog/fullchain.pem"
    assert config.pip_options == ("--trusted-host", "a b", "-c", "/etc/microblog/pip-constraints.txt")
    assert config.site_url == "https://127.0.0.1" and config.repo_url == s.repo and config.ref is None
    assert config.gunicorn_ports == (8000, 8001) and config.nginx_upstream_link == "/etc/nginx/microblog/live.conf"
    assert json.loads(text)["release_lock_seconds"] == 120 and config.static_path == "app/static"
    assert (config.app_user, config.build_user) == ("deploy", "deploy_build")
    assert config.env_names == ("SECRET_KEY", "DATABASE_URL")
    spread = settings_of("web", SPREAD, app_env={"MAIL": "x"}, app_secrets=["API_TOKEN"])
    text = program_config(spread)
    path.write_text(text)
    assert Config.load(str(path)).static_path is None  # the app hosts serve /static there
    assert Config.load(str(path)).env_names == ("SECRET_KEY", "DATABASE_URL", "MAIL", "API_TOKEN")


def test_pip_conf_holds_the_secret_index_only_when_given():
    assert "[global]" not in render_text("pip.conf.j2", settings_of(), index_url=None)
    conf = render_text("pip.conf.j2", settings_of(), index_url="https://u:t@pkgs.example.org/simple")
    assert "[global]\nindex-url = https://u:t@pkgs.example.org/simple\n" in conf


def test_rendered_shell_scripts_pass_shellcheck(tmp_path):
    hook = tmp_path / "reload-nginx"
    hook.write_text(render_text("certbot-deploy-hook.sh.j2", settings_of()))
    shellcheck = os.path.join(os.path.dirname(sys.executable), "shellcheck")
    subprocess.run([shellcheck, str(hook)], check=True)
