"""The release program as one executable file: a zipapp of flask_release, built the same way
every time, so that an unchanged program is never uploaded again."""

import io
import os
import zipfile

from core import ROOT

PACKAGE = os.path.join(ROOT, "flask_release")
# -I: root's program ignores PYTHON* variables and the user's site-packages
SHEBANG = b"#!/usr/bin/python3 -I\n"


def release_program():
    """The bytes of the zipapp."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(os.listdir(PACKAGE)):
            if name.endswith(".py"):
                with open(os.path.join(PACKAGE, name), "rb") as handle:
                    source = handle.read()
                for path in (
                    [f"flask_release/{name}", "__main__.py"] if name == "__main__.py" else [f"flask_release/{name}"]
                ):
                    entry = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
                    entry.external_attr = 0o644 << 16
                    archive.writestr(entry, source, compress_type=zipfile.ZIP_DEFLATED)
    return SHEBANG + buffer.getvalue()
