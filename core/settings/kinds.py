"""The kinds a setting is declared of in core/settings/defaults.py (`name: "kind" = default`):
each a rule the checks apply to every setting of it, with the fix they name and the words the
settings reference shows. A setting whose default is None may also be None. Rules that weigh
several settings together (tls and acme_email, repo and ref, the names the system holds) are
core/settings/checks.py's."""

import os
import re
from dataclasses import dataclass

from core.settings.hooks import hook_commands
from core.settings.hostnames import is_dns_name
from core.settings.values import is_safe_path, is_whole


@dataclass(frozen=True)
class Kind:
    check: object  # value -> whether it is one
    fix: str  # what the checks say of a value that is not
    words: str  # what the reference says it is


def _matches(pattern):
    return lambda value: bool(re.match(pattern, str(value)))


def _commands(value):
    try:
        listed = [value] if isinstance(value, str) else list(value or ())
        return all(isinstance(command, str) for command in listed) and all(hook_commands(value))
    except (TypeError, ValueError):
        return False


KINDS = {
    "count": Kind(is_whole, "must be a positive whole number.", "a positive whole number"),
    "seconds": Kind(lambda value: is_whole(value, low=0), "must be a whole number of seconds.", "whole seconds"),
    "flag": Kind(lambda value: isinstance(value, bool), "must be True or False.", "True or False"),
    "port": Kind(lambda value: is_whole(value, 1, 65535), "must be a port number.", "a port number"),
    "http_status": Kind(
        lambda value: is_whole(value, 200, 599),
        "must be an HTTP status from 200 to 599 (the highest that counts as healthy).",
        "an HTTP status, 200 to 599",
    ),
    "folder": Kind(
        lambda value: is_safe_path(value, absolute=True),
        "must be an absolute folder path without .., e.g. /var/log/app.",
        "an absolute folder path on the server",
    ),
    "local_file": Kind(
        lambda value: os.path.isfile(os.path.expanduser(str(value))),
        "is not a file on this machine: give the path of the local file.",
        "the path of a file on this machine",
    ),
    "dns_name": Kind(
        lambda value: is_dns_name(str(value)),
        "is not a valid DNS name: set it to the site's name, e.g. blog.example.org.",
        "a DNS name",
    ),
    "url_path": Kind(
        _matches(r"^/[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*$"),
        "must be a URL path starting with /, e.g. / or /health.",
        "a URL path",
    ),
    "https_url": Kind(_matches(r"^https://\S+$"), "must be an https URL.", "an https URL"),
    "nginx_time": Kind(_matches(r"^\d+(ms|s|m|h)?$"), "must be an nginx time, e.g. 10s.", "an nginx time"),
    "nginx_size": Kind(_matches(r"^\d+[kKmMgG]?$"), "must be an nginx size, e.g. 10m.", "an nginx size"),
    "time_of_day": Kind(
        _matches(r"^([01]\d|2[0-3]):[0-5]\d$"), "must be a time of day, HH:MM, e.g. 03:30.", "a time of day, HH:MM"
    ),
    "commands": Kind(
        _commands,
        'must be a list of commands, e.g. ("flask translate compile",), each a string with its quotes closed.',
        "a list of commands, each split as a shell would",
    ),
}


def kind_problems(data, declared_kinds, defaults, need):
    """Calls need(ok, setting, fix) for every setting declared of a kind."""
    for setting, kind in declared_kinds.items():
        value = data.get(setting)
        if value is None and defaults.get(setting) is None:
            continue
        rule = KINDS[kind]
        optional = defaults.get(setting) is None
        need(rule.check(value), setting, f"{rule.fix.rstrip('.')} (or None)." if optional else rule.fix)
