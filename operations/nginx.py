"""The nginx site, replaced only by one that nginx accepts."""

import hashlib
import io

from pyinfra import host
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand, operation
from pyinfra.facts.files import Link, Sha1File


@operation()
def site(src: io.StringIO, available: str, enabled: str):
    """Ensures the site `available` holds src and is enabled by the link `enabled`, when nginx
    accepts it (`nginx -t`); otherwise the previous site stays as it was (or none) and the
    operation fails with nginx's own message. Reloading is the caller's (`_if=...did_change`)."""
    content = src.getvalue().encode()
    linked = host.get_fact(Link, path=enabled)
    if (
        host.get_fact(Sha1File, path=available) == hashlib.sha1(content, usedforsecurity=False).hexdigest()
        and linked
        and linked["link_target"] == available
    ):
        return
    new, link, previous = QuoteString(available), QuoteString(enabled), QuoteString(f"{available}.previous")
    yield StringCommand("rm", "-f", previous, "&&", "{", "cp", "-p", new, previous, "2>/dev/null", "||", "true;", "}")
    yield FileUploadCommand(io.BytesIO(content), available)
    yield StringCommand("ln", "-sfn", new, link)
    yield StringCommand(
        "nginx -t -q 2>&1 || {",
        "echo 'nginx rejects the new site (above): the previous one stays in place.' >&2;",
        "if [ -e",
        previous,
        "]; then mv -f",
        previous,
        new,
        "; else rm -f",
        new,
        link,
        "; fi;",
        "exit 1; }",
    )
    yield StringCommand("rm", "-f", previous)


@operation()
def initial_link(path: str, target: str):
    """Ensures the link `path` exists, pointing at `target` when it is made; once there it is the
    release program's (it flips it between the blue and the green upstream)."""
    if host.get_fact(Link, path=path):
        return
    yield StringCommand("ln", "-s", QuoteString(target), QuoteString(path))
