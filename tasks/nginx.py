from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, systemd

from tasks.common import nginx_site, render, settings


@deploy("nginx")
def web_server(certificate=None):
    """Ensures nginx serves the site from our template (ACME webroot on /.well-known, /static from
    the app with a 30-day expiry, the rest proxied to gunicorn), on HTTPS with `certificate` and
    HTTP redirecting to it, or on HTTP alone without one; the default site removed; a site that
    `nginx -t` rejects never replaces the serving one; a reload only when something changed."""
    s = settings()
    files.directory(name="ACME webroot", path=host.data.acme_webroot, mode="0755")
    default = files.link(name="nginx default site disabled", path="/etc/nginx/sites-enabled/default",
                         present=False)
    site = nginx_site(name=f"nginx site {s.app_name}, enabled once nginx -t accepts it",
                      src=render("nginx-site.conf.j2", certificate=certificate),
                      available=f"/etc/nginx/sites-available/{s.app_name}",
                      enabled=f"/etc/nginx/sites-enabled/{s.app_name}")
    systemd.service(name="nginx is running and enabled", service="nginx", running=True, enabled=True)
    if site.will_change or default.will_change:
        systemd.service(name="Reload nginx", service="nginx", reloaded=True)
