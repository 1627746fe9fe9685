"""Credentials in URLs are blanked before a URL is stored or shown; the rest of the URL stays as written."""

from __future__ import annotations

import pytest

from eitest.secrets import redact_url, redact_urls


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("http://user:sk-live-123@host:8000/v1", "http://***@host:8000/v1"),
        ("https://sk-only-a-key@api.example.com/v1", "https://***@api.example.com/v1"),
        ("https://a:b@c@host/v1", "https://***@host/v1"),  # an unescaped @ in the password
        ("http://host/v1?api-key=K1&model=x", "http://host/v1?api-key=***&model=x"),
        ("http://host/v1?api_key=K1&Token=T&x=1", "http://host/v1?api_key=***&Token=***&x=1"),
        ("http://host/v1?password=p&sig=s&code=ok", "http://host/v1?password=***&sig=***&code=ok"),
        ("http://host/v1?client_secret=s&access_token=t", "http://host/v1?client_secret=***&access_token=***"),
        ("http://host/v1?x-api%2Dkey=K", "http://host/v1?x-api%2Dkey=***"),  # the name is matched decoded
        ("http://host/v1#access_token=t", "http://host/v1#access_token=***"),
        ("http://host/v1?flag&key=", "http://host/v1?flag&key=***"),
        ("http://u:p@[::1]:8000/v1?key=k", "http://***@[::1]:8000/v1?key=***"),
    ],
)
def test_redact_url(url: str, expected: str):
    assert redact_url(url) == expected


def test_an_unparseable_url_still_loses_its_user_info():
    assert redact_url("http://user:pw@[::1/v1") == "http://***@[::1/v1"


def test_redact_urls_in_a_command_line():
    command = "eitest run -m openai/x --api-base http://me:sk-9@h:1/v1?key=abc --db s.db --api-base=https://t@h2/"
    assert redact_urls(command) == (
        "eitest run -m openai/x --api-base http://***@h:1/v1?key=*** --db s.db --api-base=https://***@h2/"
    )
    assert redact_urls("no url here: key=abc") == "no url here: key=abc"
