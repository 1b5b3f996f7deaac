"""Root's links (what runs, what nginx includes), each in a folder only root writes: made beside
the old one, then renamed over it, so that a reader sees the old target or the new one."""

import contextlib
import os


def point(link, target):
    """`link` points at `target`; None: there is no link."""
    if target is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(link)
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(f"{link}.next")  # what an interrupted run left
    os.symlink(target, f"{link}.next")
    os.replace(f"{link}.next", link)


def target(link):
    return os.readlink(link) if os.path.islink(link) else None
