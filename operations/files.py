"""Files that hold secrets; folders, several in one step."""

import hashlib

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.files import File, Sha1File

from facts.files import Folders

# The new content comes on standard input: it is never in a command line, a temporary file of
# pyinfra's or its output. Run as the file's owner, so no one else's link is ever followed.
WRITE = 'umask 077; rm -f "$1.new" && cat > "$1.new" && {share}mv -f "$1.new" "$1"'
SHARE = 'chgrp -- "$2" "$1.new" && chmod 0640 "$1.new" && '  # the group ($2) may read it


@operation()
def secret_file(dest: str, content: str, group: str | None = None):
    """Ensures dest holds content, mode 0600 (0640 with `group`, which may read it then), owned by
    whoever the operation runs as (root, or the app user with _sudo_user); its content is never
    printed, not even as a diff."""
    digest = hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest()
    info = host.get_fact(File, path=dest) if group else None
    if host.get_fact(Sha1File, path=dest) == digest and (not group or (info["group"], info["mode"]) == (group, 640)):
        return
    script = QuoteString(WRITE.format(share=SHARE if group else ""))
    yield StringCommand("sh", "-c", script, "-", QuoteString(dest), QuoteString(group or ""), _stdin=content)


@operation()
def folders(modes: dict, user: str | None = None, group: str | None = None):
    """Ensures each path of `modes` ({path: "0751"}) is a folder with that mode, and of `user` and
    `group` when given (else of whoever made it: root, or the app user with _sudo_user); the ones
    that differ are made or set in one command. A path that is something else (a file, a link) is
    refused, never followed."""
    found = host.get_fact(Folders, paths=tuple(modes))
    owner = ":".join(part for part in (user, group) if part) if user else None
    commands = []  # each [program, arguments...]
    for path, mode in modes.items():
        kind, current_mode, current_user, current_group = found.get(path, ("directory", None, None, None))
        if path in found and kind != "directory":
            raise OperationError(f"{path} is a {kind}, not a folder: move it away")
        if path not in found:
            commands.append(["mkdir", "-p", "--", QuoteString(path)])
        if current_mode != int(mode, 8):
            commands.append(["chmod", mode, "--", QuoteString(path)])
        if owner and (current_user, current_group) != (user, group or current_group):
            commands.append(["chown", owner, "--", QuoteString(path)])
    if commands:
        yield StringCommand(*[bit for command in commands for bit in ("&&", *command)][1:])


@operation()
def absent(paths: list):
    """Ensures none of `paths` exists (a folder with all in it; a link itself, never what it
    points at), in one command."""
    found = host.get_fact(Folders, paths=tuple(paths))
    there = [path for path in paths if path in found]
    if there:
        yield StringCommand("rm", "-rf", "--", *map(QuoteString, there))
