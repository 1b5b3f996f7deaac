"""The shapes a setting's value may take, shared by the checks of every kind of setting."""

import re

SAFE_PATH = re.compile(r"^[A-Za-z0-9._/+-]+$")
# A user name (and password) in a URL: scheme://user[:password]@host
URL_USERINFO = re.compile(r"\b(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<userinfo>[^\s/@]+)@")


def has_credentials(text):
    """Whether a URL in `text` carries credentials: any user name over http(s) (a token), a
    password anywhere; an ssh URL's user name alone (ssh://git@host) is no secret."""
    return any(
        match["scheme"].lower() != "ssh" or ":" in match["userinfo"] for match in URL_USERINFO.finditer(str(text))
    )


def is_whole(value, low=1, high=None):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)


def is_safe_path(value, absolute):
    value = str(value)
    return (
        bool(SAFE_PATH.match(value))
        and value.startswith("/") == absolute
        and ".." not in value.split("/")
        and value.strip("/") != ""
    )
