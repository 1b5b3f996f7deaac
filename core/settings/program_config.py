"""The release program's settings (/etc/<app>/release.json), written from the host's Settings
under the same names: each field of flask_release.config.Config is the Settings attribute of its
name, but the few that the host's place in the layout decides (DERIVED)."""

import json
from dataclasses import fields

from core.plan.tls import certificate_for
from core.settings.checks import is_git_url
from flask_release.config import Config


def derived(s):
    """The fields that are no Settings attribute of their name: what they are on this host."""
    certificate = certificate_for(s.tls, s)
    return {
        "repo_url": s.repo if is_git_url(s.repo) else None,  # a local path is shipped, never fetched
        "roles": sorted(s.roles.of(s.name)),
        "static_path": s.static_path if s.static_from_disk else None,
        "maintenance_link": s.paths.maintenance_link if s.is_web else None,
        "certificate": certificate.fullchain if certificate and s.is_web else None,
        "offsite_host": s.name,
        "drill": s.offsite and s.drill,
        "drill_db": s.drill_names[0],
    }


def program_config(s):
    """release.json's text for the host of `s`."""
    by_host = derived(s)
    values = {
        field.name: by_host[field.name] if field.name in by_host else getattr(s, field.name) for field in fields(Config)
    }
    return json.dumps(values, indent=2, sort_keys=True) + "\n"
