"""Config text from templates/*.j2, rendered for a host's settings `s` (and a few values the
task at hand decides, such as the certificate)."""

import io
import json
import os

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from core import ROOT

TEMPLATES = os.path.join(ROOT, "templates")
_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 (config files, not HTML: values are checked, or quoted by the template)
)
_environment.filters["json"] = lambda value: json.dumps(value)


def render_text(template, s, **context):
    return _environment.get_template(template).render(s=s, **context)


def render(template, s, **context):
    """As a file object, for files.put and the like."""
    return io.StringIO(render_text(template, s, **context))
