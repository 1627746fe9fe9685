"""Keys and secrets in the client: what is redacted from every message, and how a key is named.

Nothing here imports litellm. A key is never written anywhere: :func:`redact` takes every
key-like value of the environment, and the credentials a URL may carry, out of a text.
"""

from __future__ import annotations

import os
import re

from eitest.secrets import SECRET_NAME, redact_urls


def _secrets(extra: list[str | None] | None = None) -> list[str]:
    values = [v for k, v in os.environ.items() if SECRET_NAME.search(k) and v and len(v) >= 6]
    values += [v for v in extra or [] if v and len(v) >= 6]
    return sorted(set(values), key=len, reverse=True)


def redact(text: str, extra: list[str | None] | None = None) -> str:
    """Remove every key-like value of the environment (and ``extra``), and URL credentials, from ``text``."""
    for secret in _secrets(extra):
        text = text.replace(secret, "[redacted]")
    text = redact_urls(text)
    # Provider messages sometimes echo a key's prefix and suffix, e.g. "sk-abc...wxyz".
    return re.sub(r"\b(sk|key|pk)-[A-Za-z0-9_\-]{8,}", r"\1-[redacted]", text)


# litellm's OpenAI client insists on a key even for a local server that ignores it.
NO_KEY = "not-needed"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_key_env(name: str) -> str:
    """``name`` when it can name an environment variable; the error never repeats it (it may be a key)."""
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(
            "api_key_env takes the name of an environment variable (letters, digits, _), such as LOCAL_KEY, "
            "not the key itself: export LOCAL_KEY=... and give --api-key-env LOCAL_KEY"
        )
    return name
