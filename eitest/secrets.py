"""Credentials in URLs, blanked out before a URL is stored or shown.

A base URL given on the command line may carry a key (``http://user:KEY@host`` or
``?api-key=KEY``). The call itself uses the URL as given; everything eitest writes
or prints of it goes through :func:`redact_url` first. Only the credential parts are
blanked, so that the host, port and path still say which server a run called.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

__all__ = ["MASK", "SECRET_NAME", "redact_url", "redact_urls"]

MASK = "***"

# A name (of a URL parameter, of an environment variable) holding one of these words names a credential.
SECRET_NAME = re.compile(r"key|token|secret|passw|pwd|sig|auth|credential|session", re.IGNORECASE)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_USERINFO = re.compile(r"(//)[^/?#@\s]*@")


def redact_url(url: str) -> str:
    """``url`` with its user info and credential-like parameters replaced by ``***``.

    ``http://user:pass@host:8000/v1?api-key=K&x=1`` becomes
    ``http://***@host:8000/v1?api-key=***&x=1``. A parameter is a credential when its
    name contains key, token, secret, password (passw, pwd), sig, auth, credential or
    session. The rest of the URL is kept exactly as written.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable as a URL (e.g. an unclosed "[" in the host): blank the user info anyway
        return _USERINFO.sub(rf"\g<1>{MASK}@", url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, _redact_params(parts.query), _redact_params(parts.fragment)))


def redact_urls(text: str) -> str:
    """``text`` (a command line, a message) with every URL in it passed through :func:`redact_url`."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def _redact_params(query: str) -> str:
    if not query:
        return query
    out = []
    for part in query.split("&"):
        name, eq, _value = part.partition("=")
        if eq and SECRET_NAME.search(unquote_plus(name)):
            part = f"{name}={MASK}"
        out.append(part)
    return "&".join(out)
