import os
import shlex

from pyinfra.api import deploy
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from core.glue.render import render
from core.plan.host_state import certificate_ready, served_certificate
from core.plan.managed import Managed
from core.plan.tls import certificate_for
from core.settings.hostnames import is_ip
from core.settings.resolved import settings
from operations.files import folders, secret_file

CA_BUNDLE = "/etc/letsencrypt/acme-directory-ca.pem"
TIMER_ENVIRONMENT = "/etc/systemd/system/certbot.service.d/acme-directory-ca.conf"
RENEWAL_HOOK = "/etc/letsencrypt/renewal-hooks/deploy/reload-nginx"  # nginx -t, then a reload


@deploy("TLS certificate")
def tls_certificate():
    """Ensures the certificate of `tls` (certbot comes with the system packages): "self-signed"
    makes one for server_names once; "letsencrypt" has certbot obtain one for them from
    `acme_directory` once (webroot on /.well-known, so our nginx template stays the only author of
    the site), then Debian's certbot timer renews it and a deploy hook reloads nginx; "files"
    installs yours (tls_certificate, tls_key: checked before connecting), the key root's alone
    (0600, its content never printed). Returns the certificate the site is to serve."""
    s = settings()
    certificate = certificate_for(s.tls, s)
    dns_names = [name for name in s.server_names if not is_ip(name)]
    if s.tls == "self-signed":
        files.directory(name=f"/etc/ssl/{s.app_name}", path=os.path.dirname(certificate.privkey), mode="0700")
        if not certificate_ready(s.tls):
            names = ",".join(
                [f"DNS:{name}" for name in dns_names]
                + [f"IP:{name}" for name in s.server_names if name not in dns_names]
            )
            server.shell(
                name="Self-signed certificate",
                commands=[
                    "openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 825 -subj "
                    f"{shlex.quote('/CN=' + s.server_names[0])} -addext {shlex.quote('subjectAltName=' + names)} "
                    f"-keyout {shlex.quote(certificate.privkey)} -out {shlex.quote(certificate.fullchain)} 2>/dev/null"
                ],
            )
    elif s.tls == "files":
        folder = os.path.dirname(certificate.fullchain)
        folders(name=f"{folder} (root's)", modes={os.path.dirname(folder): "0700", folder: "0700"})
        chain = files.put(
            name="Your certificate (tls_certificate)",
            src=os.path.expanduser(s.tls_certificate),
            dest=certificate.fullchain,
            mode="0644",
        )
        with open(os.path.expanduser(s.tls_key)) as handle:
            key = secret_file(name="Its key (tls_key), root's alone", dest=certificate.privkey, content=handle.read())
        if served_certificate() == certificate:  # the site serves these files already: a new pair needs a reload
            server.shell(
                name="nginx takes the new certificate (nginx -t, then a graceful reload)",
                commands=["nginx -t -q", "systemctl reload nginx"],
                _if=any_changed(chain, key),
            )
    elif s.tls == "letsencrypt":
        if s.acme_ca_bundle:
            files.put(
                name="CA bundle of the ACME directory",
                src=os.path.expanduser(s.acme_ca_bundle),
                dest=CA_BUNDLE,
                mode="0644",
            )
            # The renewal timer talks to the same directory, so it needs the same CA bundle.
            timer_environment = files.put(
                name="certbot timer trusts the ACME directory's CA",
                src=render("certbot-timer.conf.j2", s, ca_bundle=CA_BUNDLE),
                dest=TIMER_ENVIRONMENT,
                create_remote_dir=True,
                mode="0644",
            )
        else:
            files.file(name="No CA bundle of an ACME directory", path=CA_BUNDLE, present=False)
            timer_environment = files.file(
                name="certbot timer uses the system CAs", path=TIMER_ENVIRONMENT, present=False
            )
        systemd.daemon_reload(name="systemd reads the certbot timer's settings", _if=timer_environment.did_change)
        files.put(
            name="nginx reloads after a renewal",
            src=render("certbot-deploy-hook.sh.j2", s),
            dest=RENEWAL_HOOK,
            create_remote_dir=True,
            mode="0755",
        )
        systemd.service(name="certbot renewal timer is enabled", service="certbot.timer", running=True, enabled=True)
        if not certificate_ready(s.tls):
            domains = " ".join(f"-d {shlex.quote(name)}" for name in dns_names)
            environment = f"REQUESTS_CA_BUNDLE={CA_BUNDLE} " if s.acme_ca_bundle else ""
            server.shell(
                name=f"Certificate for {', '.join(dns_names)} from the ACME directory",
                commands=[
                    f"{environment}certbot certonly --non-interactive --agree-tos --no-eff-email "
                    f"-m {shlex.quote(s.acme_email)} --server {shlex.quote(s.acme_directory)} "
                    f"--webroot -w {shlex.quote(s.acme_webroot)} --cert-name {shlex.quote(s.app_name)} {domains}"
                ],
            )

    return certificate


def manages(s):
    if not s.is_web or s.tls == "off":
        return Managed()
    if s.tls == "self-signed":
        return Managed(paths=(f"/etc/ssl/{s.app_name}",))
    if s.tls == "files":
        mine = certificate_for(s.tls, s)
        return Managed(
            paths=(f"/etc/ssl/{s.app_name}", os.path.dirname(mine.fullchain), mine.fullchain, mine.privkey),
            files=(mine.fullchain,),
        )
    written = (CA_BUNDLE, TIMER_ENVIRONMENT, RENEWAL_HOOK)
    return Managed(paths=written, files=written, services=("certbot.timer",))
