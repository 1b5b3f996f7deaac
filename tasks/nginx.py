from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, systemd

from tasks.common import nginx_site, render, settings
from tasks.layout import layout


def site(certificate, down=()):
    """The nginx site of the current web host, with the app hosts in `down` taken out."""
    current = layout()
    return render("nginx-site.conf.j2", certificate=certificate, upstream=current.upstream(host.data.bind),
                  down=[current.app_bind(name, host.data.bind) for name in down],
                  static_from_disk=current.serves_static_itself(host.name))


def site_paths():
    name = settings().app_name
    return f"/etc/nginx/sites-available/{name}", f"/etc/nginx/sites-enabled/{name}"


@deploy("nginx")
def web_server(certificate=None):
    """Ensures nginx serves the site from our template (ACME webroot on /.well-known, /static with a
    30-day expiry, the rest proxied to the app hosts with passive health checks), on HTTPS with
    `certificate` and HTTP redirecting to it, or on HTTP alone without one; the default site
    removed; a site that `nginx -t` rejects never replaces the serving one; a reload only when
    something changed."""
    available, enabled = site_paths()
    files.directory(name="ACME webroot", path=host.data.acme_webroot, mode="0755")
    default = files.link(name="nginx default site disabled", path="/etc/nginx/sites-enabled/default",
                         present=False)
    changed = nginx_site(name=f"nginx site {settings().app_name}, enabled once nginx -t accepts it",
                         src=site(certificate), available=available, enabled=enabled)
    systemd.service(name="nginx is running and enabled", service="nginx", running=True, enabled=True)
    if changed.will_change or default.will_change:
        systemd.service(name="Reload nginx", service="nginx", reloaded=True)
