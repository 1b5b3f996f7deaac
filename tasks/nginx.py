from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, server, systemd

from tasks.common import render, settings


@deploy("nginx")
def web_server(certificate=None):
    """Ensures nginx serves the site from our template (ACME webroot on /.well-known, /static from
    the app with a 30-day expiry, the rest proxied to gunicorn), on HTTPS with `certificate` and
    HTTP redirecting to it, or on HTTP alone without one; the default site removed; a reload,
    after `nginx -t`, only when something changed."""
    s = settings()
    files.directory(name="ACME webroot", path=host.data.acme_webroot, mode="0755")
    site = files.put(name=f"nginx site {s.app_name}", src=render("nginx-site.conf.j2", certificate=certificate),
                     dest=f"/etc/nginx/sites-available/{s.app_name}", mode="0644")
    enabled = files.link(name=f"nginx site {s.app_name} enabled", path=f"/etc/nginx/sites-enabled/{s.app_name}",
                         target=f"/etc/nginx/sites-available/{s.app_name}")
    default = files.link(name="nginx default site disabled", path="/etc/nginx/sites-enabled/default",
                         present=False)
    systemd.service(name="nginx is running and enabled", service="nginx", running=True, enabled=True)
    if site.will_change or enabled.will_change or default.will_change:
        server.shell(name="nginx -t", commands=["nginx -t"])
        systemd.service(name="Reload nginx", service="nginx", reloaded=True)
