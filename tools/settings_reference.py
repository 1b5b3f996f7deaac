"""docs/settings.md, the settings reference, made from the settings' declarations: each line of
core/settings/defaults.py that sets a name (its default, its comment). `python -m tools.settings_reference`
writes it; tests/test_setting_names.py fails when it is stale."""

import ast
import io
import os
import sys
import tokenize

from core import ROOT
from core.glue.render import render_text
from core.settings.names import DEFAULTS

REFERENCE = os.path.join(ROOT, "docs", "settings.md")
KINDS = {"count": " (a positive whole number)", "flag": " (True or False)"}  # the rules of core.settings.checks


def declarations(text):
    """[(name, default as written, comment, kind)] of each top-level assignment of `text`, in order."""
    comments = {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT
    }
    lines = text.splitlines()
    found = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, kind = node.targets[0].id, None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, kind = node.target.id, ast.literal_eval(node.annotation)
        else:
            continue
        default = ast.get_source_segment(text, node.value) or lines[node.lineno - 1]
        found.append((name, default, comments.get(node.end_lineno, ""), kind))
    return found


def reference():
    with open(DEFAULTS) as handle:
        return render_text("settings-reference.md.j2", None, rows=declarations(handle.read()), KINDS=KINDS)


def main():
    os.makedirs(os.path.dirname(REFERENCE), exist_ok=True)
    with open(REFERENCE, "w") as handle:
        handle.write(reference())
    print(f"wrote {os.path.relpath(REFERENCE, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
