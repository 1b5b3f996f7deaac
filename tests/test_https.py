"""HTTPS end to end: a self-signed certificate first, then the same server switched to an ACME CA.
The CA is pebble (Debian's package, RFC 8555) running inside the server; the deploy reaches it
through the settings alone (acme_directory, acme_ca_bundle)."""

import io
import json
import socket
import ssl
import subprocess
import tarfile
import time

import pytest

from testbed.client import http_get
from testbed.servers import changed_operations

pytestmark = pytest.mark.e2e

DOMAIN = "blog.example.org"
NAMES = {DOMAIN, f"www.{DOMAIN}"}
PEBBLE_CONFIG = {
    "pebble": {
        "listenAddress": "127.0.0.1:14000",
        "managementListenAddress": "127.0.0.1:15000",
        "certificate": "/etc/pebble/cert.pem",
        "privateKey": "/etc/pebble/key.pem",
        "httpPort": 80,
        "tlsPort": 443,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }
}
COMMON = (
    "--data",
    f"domain={DOMAIN}",
    "--data",
    f"server_names={DOMAIN},www.{DOMAIN}",
    "--data",
    "public_https_port=443",
)


def served_certificate(server, minimum=None, maximum=None):
    """The certificate served on 443 for DOMAIN (SNI), as openssl's text fields; a handshake
    limited to the TLS versions minimum..maximum."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    if maximum and maximum < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # so that this client itself offers TLS 1.1
    context.minimum_version = minimum or ssl.TLSVersion.MINIMUM_SUPPORTED
    context.maximum_version = maximum or ssl.TLSVersion.MAXIMUM_SUPPORTED
    with (
        socket.create_connection(("127.0.0.1", server.https_port), timeout=10) as sock,
        context.wrap_socket(sock, server_hostname=DOMAIN) as tls,
    ):
        pem = ssl.DER_cert_to_PEM_cert(tls.getpeercert(binary_form=True))
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-issuer", "-serial", "-ext", "subjectAltName"],
        input=pem,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith(" "))
    fields["names"] = {item.strip()[4:] for item in text.split("\n", 4)[-1].split(",") if "DNS:" in item}
    return fields


def https_get(server, path):
    return http_get(f"https://127.0.0.1:{server.https_port}{path}", host=DOMAIN, follow_redirects=False)


@pytest.fixture(scope="module")
def self_signed(server):
    result = server.deploy(*COMMON, "--data", "tls=self-signed")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def pebble(server, self_signed, tmp_path_factory):
    """Pebble as the ACME CA inside the server, the site's names mapped to 127.0.0.1 there; returns
    the local copy of pebble's TLS certificate (the deploy's `acme_ca_bundle`)."""
    server.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble >/dev/null")
    server.sh(
        "mkdir -p /etc/pebble && openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout /etc/pebble/key.pem "
        "-out /etc/pebble/cert.pem 2>/dev/null"
    )
    server.sh(f"cat > /etc/pebble/config.json <<'EOF'\n{json.dumps(PEBBLE_CONFIG)}\nEOF")
    server.sh(
        "systemd-run --unit pebble --setenv PEBBLE_VA_NOSLEEP=1 --setenv PEBBLE_WFE_NONCEREJECT=0 "
        "/usr/bin/pebble -config /etc/pebble/config.json"
    )
    server.sh(f"echo '127.0.0.1 {' '.join(sorted(NAMES))}' >> /etc/hosts")
    server.sh(
        "for i in $(seq 50); do curl -skf https://localhost:14000/dir >/dev/null && exit 0; sleep 0.2; done; exit 1"
    )
    archive, _ = server.container.get_archive("/etc/pebble/cert.pem")
    bundle = tmp_path_factory.mktemp("pebble") / "pebble-ca.pem"
    with tarfile.open(fileobj=io.BytesIO(b"".join(archive))) as tar:
        bundle.write_bytes(tar.extractfile("cert.pem").read())
    return str(bundle)


def letsencrypt_args(bundle):
    return (
        *COMMON,
        "--data",
        "tls=letsencrypt",
        "--data",
        "acme_email=ops@example.org",
        "--data",
        "acme_directory=https://localhost:14000/dir",
        "--data",
        f"acme_ca_bundle={bundle}",
    )


@pytest.fixture(scope="module")
def issued(server, pebble):
    result = server.deploy(*letsencrypt_args(pebble))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_self_signed_mode_serves_https_at_once(server, self_signed):
    certificate = served_certificate(server)
    assert certificate["subject"] == certificate["issuer"]  # self-signed
    assert certificate["names"] == NAMES
    status, _, body = https_get(server, "/")
    assert status == 200 and "Microblog v1.1.0" in body


def test_switch_to_letsencrypt_gets_a_certificate_from_the_acme_ca(server, issued):
    certificate = served_certificate(server)
    assert "Pebble" in certificate["issuer"]
    assert certificate["names"] == NAMES


def test_http_redirects_to_https_except_acme_challenges(server, issued):
    status, headers, _ = http_get(f"{server.url}/some/path?q=1", follow_redirects=False, host=DOMAIN)
    assert status == 301 and headers["Location"] == f"https://{DOMAIN}/some/path?q=1"
    server.sh(
        "mkdir -p /var/www/acme/.well-known/acme-challenge && echo token > /var/www/acme/.well-known/acme-challenge/x"
    )
    status, _, body = http_get(f"{server.url}/.well-known/acme-challenge/x", follow_redirects=False, host=DOMAIN)
    assert status == 200 and body.strip() == "token"


def test_https_serves_the_app_static_files_and_hsts_with_modern_tls_only(server, issued):
    status, headers, body = https_get(server, "/")
    assert status == 200 and "Microblog v1.1.0" in body
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    status, headers, _ = https_get(server, "/static/style.css")
    assert status == 200 and "max-age=2592000" in headers["Cache-Control"]

    with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION|protocol version"):
        served_certificate(server, minimum=ssl.TLSVersion.TLSv1_1, maximum=ssl.TLSVersion.TLSv1_1)
    assert served_certificate(server, minimum=ssl.TLSVersion.TLSv1_3)["names"] == NAMES
    assert served_certificate(server, maximum=ssl.TLSVersion.TLSv1_2)["names"] == NAMES


def test_second_deploy_changes_nothing_and_requests_no_certificate(server, issued, pebble):
    result = server.deploy("--json", *letsencrypt_args(pebble))
    assert result.returncode == 0, result.stderr[-3000:]
    assert not changed_operations(result)
    assert server.sh("ls /etc/letsencrypt/archive/microblog/ | grep -c '^cert'") == "1"
    assert server.sh("systemctl is-enabled certbot.timer") == "enabled"


def test_forced_renewal_is_served_without_a_manual_reload(server, issued):
    before = served_certificate(server)["serial"]
    server.sh(
        "REQUESTS_CA_BUNDLE=/etc/letsencrypt/acme-directory-ca.pem certbot renew --force-renewal "
        "--no-random-sleep-on-renew -q"
    )
    deadline = time.time() + 10
    while served_certificate(server)["serial"] == before:
        assert time.time() < deadline, "nginx still serves the old certificate after the renewal"
        time.sleep(0.5)
    assert "Pebble" in served_certificate(server)["issuer"]
    assert http_get(f"{server.url}/", follow_redirects=False, host=DOMAIN)[0] == 301
