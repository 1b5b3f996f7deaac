from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from core.glue.render import render
from core.plan import apps_here
from core.plan.host_state import served_certificate
from core.plan.managed import Managed
from core.plan.tls import app_certificate
from core.settings.resolved import settings
from facts.host import AppsHere
from flask_release.service import COLORS
from operations.files import folders
from operations.nginx import initial_link, site


def site_config(s, certificate, down=()):
    """The nginx site of a web host, with the app hosts in `down` taken out."""
    return render("nginx-site.conf.j2", s, certificate=certificate, down=list(down))


# The server of the names no app serves: one per host, shared by its apps, written alike by each.
CATCH_ALL = ("/etc/nginx/sites-available/000-catch-all", "/etc/nginx/sites-enabled/000-catch-all")


def catch_all_config(s, certificate, records):
    """The catch-all server of a web host from the apps recorded there (`records`) and this one,
    whose `certificate` is the one it serves now (None before it has one)."""
    apps = {**apps_here.others(records, s.app_name), s.app_name: apps_here.record(s)}
    return catch_all_of(s, apps, lambda name, tls: certificate if name == s.app_name else app_certificate(name, tls))


def catch_all_of(s, apps, certificate_of):
    """The catch-all server of the web apps `apps` ({app: record}), `certificate_of(app, tls)`
    where each one's certificate is."""
    https, shown = apps_here.catch_all(apps, certificate_of)
    return render("nginx-catch-all.conf.j2", s, https=https, certificate=shown)


def catch_all_site(name, src):
    """The catch-all server `src` in place once nginx -t accepts it (reloading is the caller's)."""
    return site(name=name, src=src, available=CATCH_ALL[0], enabled=CATCH_ALL[1])


def site_paths(s):
    return f"/etc/nginx/sites-available/{s.app_name}", f"/etc/nginx/sites-enabled/{s.app_name}"


def serve(certificate, name=None):
    """The site with `certificate`, enabled once nginx -t accepts it, reloaded when it changed."""
    s = settings()
    name = name or f"nginx site {s.app_name} with its new certificate"
    available, enabled = site_paths(s)
    changed = site(name=name, src=site_config(s, certificate), available=available, enabled=enabled)
    # after the site: an earlier version's site held the default server itself
    records = host.get_fact(AppsHere, folder=apps_here.FOLDER)
    shared = catch_all_site(
        "nginx catch-all server of the names no app serves", catch_all_config(s, certificate, records)
    )
    systemd.service(name="Reload nginx", service="nginx", reloaded=True, _if=any_changed(changed, shared))


@deploy("nginx")
def web_server():
    """Ensures nginx serves the site from our template: refused to unknown host names; the ACME
    webroot on /.well-known; /static with a 30-day expiry; the rest proxied to the app hosts with
    passive health checks, forwarding headers set by nginx alone; on HTTPS with HTTP redirecting
    to it, or on HTTP alone with `tls` off; with the certificate the host has (ACME challenges need
    the site on port 80 before certbot runs; `serve` puts the new certificate in after). A site
    that `nginx -t` rejects never replaces the serving one. Returns the certificate it serves."""
    s = settings()
    folder = s.paths.nginx_dir  # the maintenance rules; on a lone host, the live color's upstream
    folders(name=f"ACME webroot, {folder}", modes={s.acme_webroot: "0755", folder: "0755"})
    files.put(name="nginx maintenance rules", dest=s.paths.maintenance_rules, src=render("maintenance.conf.j2", s))
    files.put(
        name="Maintenance page",
        dest=f"{folder}/maintenance.html",
        src=s.maintenance_page or render("maintenance.html.j2", s),
        mode="0644",
    )
    if s.nginx_upstream_link:
        for color, address in zip(COLORS, s.upstream[0][1], strict=True):
            files.put(
                name=f"nginx upstream of the {color} gunicorn",
                dest=f"{folder}/upstream-{color}.conf",
                src=render("nginx-upstream.conf.j2", s, color=color, address=address),
                mode="0644",
            )
        initial_link(
            name="nginx upstream: blue, until a release switches",
            path=s.nginx_upstream_link,
            target="upstream-blue.conf",
        )
    default = files.link(name="nginx default site disabled", path="/etc/nginx/sites-enabled/default", present=False)
    systemd.service(name="nginx is running and enabled", service="nginx", running=True, enabled=True)
    systemd.service(
        name="Reload nginx without its default site", service="nginx", reloaded=True, _if=any_changed(default)
    )
    serving = served_certificate()
    serve(serving, f"nginx site {s.app_name}, enabled once nginx -t accepts it")
    return serving


def manages(s):
    if not s.is_web:
        return Managed()
    available, enabled = site_paths(s)
    folder = s.paths.nginx_dir
    written = (s.paths.maintenance_rules, f"{folder}/maintenance.html")
    upstreams = tuple(f"{folder}/upstream-{color}.conf" for color in COLORS) if s.nginx_upstream_link else ()
    return Managed(
        # the catch-all is there, but its content is every app's: another app's deploy may change it
        paths=(s.acme_webroot, available, enabled, *CATCH_ALL, "/etc/nginx/sites-enabled/default", folder, *written)
        + ((s.nginx_upstream_link,) if s.nginx_upstream_link else ()),
        files=(available, *written, *upstreams),
        services=("nginx",),
    )
