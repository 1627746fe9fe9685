"""A provider's rate-limit headers as eitest reads them: durations, dates, OpenAI's and Anthropic's names."""

from __future__ import annotations

import time

import pytest

from eitest.client.rate_headers import RateSignals, parse_duration


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("1.5", 1.5),
        ("20ms", 0.02),
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("1h2m3s", 3723.0),
        ("0.35s", 0.35),
        ("soon", None),
        ("-1", None),
        ("1s2", None),
        (None, None),
    ],
)
def test_reset_durations_as_providers_write_them(text, seconds):
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_rate_signals_from_headers():
    signals = RateSignals.from_headers(
        {
            "Retry-After": "2",
            "retry-after-ms": "1234",
            "X-RateLimit-Remaining-Requests": "0",
            "x-ratelimit-remaining-tokens": "5000",
            "x-ratelimit-reset-requests": "250ms",
            "x-ratelimit-reset-tokens": "6m0s",
        }
    )
    assert signals == RateSignals(1.234, 0, 5000, 0.25, 360.0)
    assert RateSignals.from_headers({"retry-after": "3"}).retry_after_s == 3.0
    dated = RateSignals.from_headers({"retry-after": "Wed, 21 Oct 2026 07:28:10 GMT"}, now_epoch=1792567685.0)
    assert dated.retry_after_s == 5.0
    assert RateSignals.from_headers(None) == RateSignals() == RateSignals.from_headers({"retry-after": "later"})


def test_anthropics_rate_limit_headers_raw_or_as_litellm_forwards_them():
    # Anthropic's resets are RFC 3339 times; litellm keeps a provider's own headers as "llm_provider-<name>".
    now = 1796288400.0  # 2026-12-03T09:00:00Z
    raw = {
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-12-03T09:00:02.5Z",
        "anthropic-ratelimit-tokens-remaining": "1200",
        "anthropic-ratelimit-tokens-reset": "2026-12-03T09:01:00Z",
    }
    expected = RateSignals(None, 0, 1200, 2.5, 60.0)
    assert RateSignals.from_headers(raw, now_epoch=now) == expected
    forwarded = {f"llm_provider-{k}": v for k, v in raw.items()} | {"x-ratelimit-remaining-requests": "0"}
    assert RateSignals.from_headers(forwarded, now_epoch=now) == expected
    past = {"anthropic-ratelimit-requests-reset": "2026-12-03T08:59:00Z", "anthropic-ratelimit-tokens-reset": "soon"}
    assert RateSignals.from_headers(past, now_epoch=now) == RateSignals(reset_requests_s=0.0)


def test_a_reset_time_without_a_zone_is_read_as_utc_whatever_the_machines_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        no_zone = {"anthropic-ratelimit-requests-reset": "2026-12-03T09:00:04"}
        assert RateSignals.from_headers(no_zone, now_epoch=1796288400.0).reset_requests_s == 4.0
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_header_sent_under_its_own_name_wins_over_litellms_forwarded_copy():
    # Behind a litellm proxy the plain header is the proxy's limit; the forwarded one the provider's behind it.
    for order in (1, -1):
        headers = dict(
            list({"x-ratelimit-remaining-requests": "7", "llm_provider-x-ratelimit-remaining-requests": "0"}.items())[
                ::order
            ]
        )
        assert RateSignals.from_headers(headers).remaining_requests == 7
