"""Files that hold secrets."""

import hashlib

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation
from pyinfra.facts.files import Sha1File

# The new content comes on standard input: it is never in a command line, a temporary file of
# pyinfra's or its output. Run as the file's owner, so no one else's link is ever followed.
WRITE = 'umask 077; rm -f "$1.new" && cat > "$1.new" && mv -f "$1.new" "$1"'


@operation()
def secret_file(dest: str, content: str):
    """Ensures dest holds content, mode 0600, owned by whoever the operation runs as (root, or the
    app user with _sudo_user); its content is never printed, not even as a diff."""
    if host.get_fact(Sha1File, path=dest) == hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest():
        return
    yield StringCommand("sh", "-c", QuoteString(WRITE), "-", QuoteString(dest), _stdin=content)
