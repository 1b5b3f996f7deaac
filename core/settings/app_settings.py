"""The app's own settings beyond SECRET_KEY and DATABASE_URL: `app_env`, plain ones written into
its .env, and `app_secrets`, names of secrets read from the deploying machine's environment (or
local .env) and kept on the server like SECRET_KEY. Both end up in the app's process environment."""

import re

NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
RESERVED = ("SECRET_KEY", "DATABASE_URL", "DB_PASSWORD")  # the deploy's own
# what a .env keeps as it is, for python-dotenv (which expands $) and for this deploy's reader
PLAIN = re.compile(r"^[^\"'`\\$\x00-\x1f\x7f]{0,1000}$")


def plain_settings(data):
    """((name, value), ...) of `app_env`, sorted; values as text."""
    value = data.get("app_env") or {}
    return tuple(sorted((str(name), str(text)) for name, text in value.items())) if isinstance(value, dict) else ()


def secret_names(data):
    """The names in `app_secrets`: a list, or one string of names separated by commas or spaces."""
    value = data.get("app_secrets") or ()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return tuple(str(name) for name in value)


def app_settings_problems(data, need):
    value = data.get("app_env")
    need(
        value is None or isinstance(value, dict),
        "app_env",
        'must be a mapping of names to values, e.g. {"MAIL_SERVER": "smtp.example.org"} '
        '(--data \'app_env={"MAIL_SERVER": "smtp.example.org"}\').',
    )
    names = [name for name, _ in plain_settings(data)] + list(secret_names(data))
    for name in names:
        need(
            NAME.match(name) and name not in RESERVED,
            "app_env" if name not in secret_names(data) else "app_secrets",
            f"names {name!r}: use upper-case letters, digits and _ (not {', '.join(RESERVED)}: the deploy's own).",
        )
    need(len(names) == len(set(names)), "app_secrets", "names a setting app_env (or itself) names too: name it once.")
    for name, text in plain_settings(data):
        need(
            PLAIN.match(text),
            "app_env",
            f"value of {name} holds a quote, backslash, $ or a control character a .env cannot keep as it is: "
            "leave them out, or make it a secret (app_secrets).",
        )
