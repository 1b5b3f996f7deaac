"""tls = "files": a certificate you bring is checked on this machine before anything connects,
each problem named with the setting and the fix."""

import os

from core.settings.certificate_files import covers
from core.settings.checks import problems
from testbed.certificates import issue
from tests.helpers import data


def tls_problems(chain, key, **settings):
    given = data(
        **{"tls": "files", "tls_certificate": chain, "tls_key": key, "server_names": ["blog.example.org"], **settings}
    )
    return [problem for problem in problems(given) if problem.startswith(("`tls_", "`tls`"))]


def test_a_good_certificate_and_its_key_pass(tmp_path):
    chain, key = issue(str(tmp_path), ["blog.example.org", "www.blog.example.org"])
    assert tls_problems(chain, key) == []
    assert tls_problems(chain, key, server_names=["blog.example.org", "www.blog.example.org"]) == []


def test_each_problem_is_named_with_its_fix(tmp_path):
    chain, key = issue(str(tmp_path), ["blog.example.org"])
    other_chain, other_key = issue(str(tmp_path), ["blog.example.org"], label="other")
    (mismatched,) = tls_problems(chain, other_key)
    assert mismatched.startswith("`tls_key`") and "does not match the certificate of tls_certificate" in mismatched
    expired_chain, expired_key = issue(str(tmp_path), ["blog.example.org"], days=-1, start_days=-30, label="expired")
    (expired,) = tls_problems(expired_chain, expired_key)
    assert expired.startswith("`tls_certificate`") and " expired 20" in expired and "renew it" in expired
    soon_chain, soon_key = issue(str(tmp_path), ["blog.example.org"], days=0.5, label="soon")
    assert "must be valid for more than a day" in tls_problems(soon_chain, soon_key)[0]
    (uncovered,) = tls_problems(chain, key, server_names=["blog.example.org", "shop.example.org"])
    assert "does not cover shop.example.org of server_names (it names blog.example.org)" in uncovered
    os.chmod(key, 0o644)
    (readable,) = tls_problems(chain, key)
    assert "is readable by every account of this machine: chmod 600 it" in readable
    os.chmod(key, 0o600)
    with open(chain) as handle:
        leaf, ca = handle.read().split("-----END CERTIFICATE-----\n")[:2]
    backwards = tmp_path / "backwards.pem"
    backwards.write_text(ca + "-----END CERTIFICATE-----\n" + leaf + "-----END CERTIFICATE-----\n")
    assert any("`tls_key` = " in problem for problem in tls_problems(str(backwards), key))  # its first is the CA's
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    assert any("holds no PEM certificate" in problem for problem in tls_problems(str(not_pem), key))
    missing = tls_problems(None, None)
    assert any(problem.startswith("`tls_certificate`") and "is required" in problem for problem in missing)
    assert any(problem.startswith("`tls_key`") and "is required" in problem for problem in missing)


def test_a_wildcard_stands_for_one_label():
    assert covers(["*.example.org"], "blog.example.org")
    assert not covers(["*.example.org"], "example.org") and not covers(["*.example.org"], "a.blog.example.org")
    assert covers(["127.0.0.1"], "127.0.0.1") and not covers(["*.0.0.1"], "127.0.0.1")
