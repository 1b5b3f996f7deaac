"""docs/settings.md, the settings reference, made from the declarations: each line of
core/settings/defaults.py that sets a name (its default, its kind, its comment), and each
environment variable of core/settings/environment.py. `python -m tools.settings_reference`
writes it; tests/test_setting_names.py fails when it is stale."""

import ast
import io
import os
import re
import sys
import tokenize

from core import ROOT
from core.glue.render import render_text
from core.settings import environment
from core.settings.kinds import KINDS
from core.settings.names import DEFAULTS

REFERENCE = os.path.join(ROOT, "docs", "settings.md")


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


def variables():
    """[(variable, what it is)] of each environment variable named in core/settings/environment.py."""
    with open(environment.__file__) as handle:
        found = declarations(handle.read())
    return [(ast.literal_eval(value), doc) for _, value, doc, _ in found if re.match(r'^"[A-Z_]+"$', value) and doc]


def reference():
    with open(DEFAULTS) as handle:
        rows = declarations(handle.read())
    return render_text("settings-reference.md.j2", None, rows=rows, KINDS=KINDS, variables=variables())


def main():
    os.makedirs(os.path.dirname(REFERENCE), exist_ok=True)
    with open(REFERENCE, "w") as handle:
        handle.write(reference())
    print(f"wrote {os.path.relpath(REFERENCE, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
