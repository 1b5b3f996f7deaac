"""tls = "files" end to end (issue 26): a certificate made in the test (a CA of its own, as a
company's) replaces the local server's self-signed one under load, serves, shows its days left in
`make status`, and is replaced by a renewed one the same way; a mismatched key, an expired
certificate and one that does not cover a name are each refused before connecting, the server
untouched."""

import re
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from testbed.certificates import issue
from testbed.client import Load

pytestmark = pytest.mark.e2e

NAMES = ["localhost", "127.0.0.1"]  # the local server's


def served(server):
    """The certificate nginx shows for localhost (DER)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", server.https_port), timeout=10) as sock,
        context.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        return tls.getpeercert(binary_form=True)


def certificate_in(chain):
    with open(chain, "rb") as handle:
        return x509.load_pem_x509_certificates(handle.read())[0].public_bytes(serialization.Encoding.DER)


def files(chain, key):
    return ("--data", "tls=files", "--data", f"tls_certificate={chain}", "--data", f"tls_key={key}")


def installed(server, chain, key):
    with Load(server.https_url) as load:
        result = server.deploy(*files(chain, key))
    assert result.returncode == 0, result.output[-3000:]
    print(load.summary())
    assert load.failures == [] and load.sent > 25
    assert served(server) == certificate_in(chain)
    with open(key) as handle:
        assert not any(line in result.output for line in handle.read().splitlines()[1:-1])  # the key never shows
    return result


@pytest.fixture(scope="module")
def deployed(server):
    result = server.deploy()
    assert result.returncode == 0, result.output[-3000:]
    return server


def test_your_certificate_replaces_the_self_signed_one_under_load_and_shows_in_status(deployed, tmp_path):
    chain, key = issue(str(tmp_path), NAMES, days=90)
    installed(deployed, chain, key)
    assert deployed.sh("stat -c '%a %U' /etc/ssl/microblog/own/privkey.pem /etc/ssl/microblog/own") == (
        "600 root\n700 root"
    )
    status = deployed.make("status")
    assert status.returncode == 0, status.output
    assert re.search(r"certificate: .*site test CA.*, (89|90) days left", status.output), status.output
    again = deployed.deploy(*files(chain, key))
    assert again.returncode == 0 and "nothing changed since the last deploy" in again.output, again.output[-3000:]
    # renewed: a new certificate and key, put in place with a graceful reload
    renewed_chain, renewed_key = issue(str(tmp_path), NAMES, days=365, label="renewed")
    result = installed(deployed, renewed_chain, renewed_key)
    assert "nginx takes the new certificate" in result.output


def test_a_certificate_nginx_or_browsers_would_refuse_is_refused_before_connecting(deployed, tmp_path):
    before = deployed.sh("find /etc/ssl /etc/nginx -type f -exec md5sum {} + | sort")
    chain, key = issue(str(tmp_path), NAMES)
    _, other_key = issue(str(tmp_path), NAMES, label="other")
    expired = issue(str(tmp_path), NAMES, days=-1, start_days=-90, label="expired")
    narrow = issue(str(tmp_path), ["localhost"], label="narrow")
    for given, expected in (
        ((chain, other_key), "`tls_key` = "),
        (expired, "expired 20"),
        (narrow, "does not cover 127.0.0.1 of server_names"),
    ):
        result = deployed.deploy(*files(*given))
        assert result.returncode != 0, result.output[-3000:]
        assert "need fixing before anything changes" in result.output and expected in result.output, result.output
    assert deployed.sh("find /etc/ssl /etc/nginx -type f -exec md5sum {} + | sort") == before
