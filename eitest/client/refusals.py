"""Provider answers that stop a run: a refused key (401), refused access (403), no such model (404),
a prompt longer than the model's context window (400), an account with no quota or credit left.

No retry changes such an answer and the model's other trials would mostly get the same, so
the runner stops at the first one instead of spending each trial's retries on it; the
refused trial is not stored, and a re-run after the fix calls the rest. A context overrun is
the exception to the last: its fixes (a lower ``--max-tokens``, another model) make a new
run, and an item too long for the model fails again however often it is run.
The failure is read from the head that :mod:`eitest.client.calls` writes into every error
(``"AuthenticationError (401): ..."``), the one text that travels from the call to the
runner inside the trial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eitest.client.calls import QUOTA_SPENT, CallSettings
from eitest.client.keys import redact
from eitest.client.models import provider_key_names
from eitest.errors import EitestError
from eitest.vocabulary import STUDY_PROTOCOLS, ProtocolName

# "<exception class> (<HTTP status>): <provider's message>", as calls._describe writes it.
_HEAD = re.compile(r"^(?P<name>\w+)(?: \((?P<status>\d{3})\))?: ?(?P<detail>.*)", re.S)
# What litellm puts before the provider's own words: "litellm.NotFoundError: NotFoundError: OpenAIException - ",
# or for a context overrun "litellm.ContextWindowExceededError: litellm.BadRequestError: ContextWindowExceededError: ...".
_WRAPPING = re.compile(r"^(?:(?:litellm\.\w+|\w+Error): )*(?:\w+Exception - )?")
# Both the class litellm maps a status to and the bare status: a provider mapped to a generic class still counts.
_KINDS = {
    401: ("AuthenticationError", "refused the key"),
    403: ("PermissionDeniedError", "refused access"),
    404: ("NotFoundError", "has no such model"),
}


# Refusals known by litellm's class (or eitest's head) alone: what the provider did, and the fix.
_NAMED = {
    "ContextWindowExceededError": (
        "found the prompt longer than the model's context window",
        "choose a model with a longer context, or lower --max-tokens if it is large (the reply's cap counts "
        "towards the window); either starts a new run",
    ),
    QUOTA_SPENT: (
        "has no quota or credit left on this account",
        "check the account's plan, billing and usage limits; waiting does not end a spent quota",
    ),
}


# The head of a trial's error when the logprobs protocol got a reply without token probabilities.
NO_LOGPROBS = "NoLogprobs"
# What works without them: the protocols that read the reply's text.
TEXT_PROTOCOLS = tuple(p.value for p in STUDY_PROTOCOLS if p is not ProtocolName.LOGPROBS)


class ProviderRefused(EitestError):
    """A run stopped by a provider's refusal (see the module): the message says what to fix; re-running resumes."""


@dataclass(frozen=True)
class Refusal:
    """One refusal: the model refused, the HTTP status, what it means, the fix, and the provider's own words."""

    model: str
    status: int | None  # None: no HTTP refusal, a reply that cannot serve the run (no token probabilities)
    what: str
    fix: str
    detail: str
    rerun: bool = True  # whether re-running the same command, once fixed, calls the rest

    def __str__(self) -> str:
        said = f" (the provider said: {self.detail})" if self.detail else ""
        code = f" ({self.status})" if self.status is not None else ""
        return f"the provider {self.what}{code} for {self.model}: {self.fix}{said}"


def refusal(model: str, error: str | None, settings: CallSettings) -> Refusal | None:
    """The refusal that a trial's ``error`` records, or None for any other outcome (retryable or per item)."""
    match = _HEAD.match(error or "")
    if match is None:
        return None
    name, detail = match["name"], _WRAPPING.sub("", match["detail"].strip())
    if name == NO_LOGPROBS:
        fix = (
            "it cannot be run with --protocol logprobs; run it with --protocol "
            f"{', '.join(TEXT_PROTOCOLS[:-1])} or {TEXT_PROTOCOLS[-1]} instead, which read the reply's text"
        )
        return Refusal(model, None, "returned no token probabilities (logprobs)", fix, "", rerun=False)
    status = int(match["status"]) if match["status"] else None
    if name in _NAMED:
        what, fix = _NAMED[name]
        return Refusal(model, status, what, fix, detail, rerun=name != "ContextWindowExceededError")
    for code, (cls, what) in _KINDS.items():
        if status == code or (status is None and name == cls):
            return Refusal(model, code, what, _fix(code, model, settings), detail)
    return None


def _fix(status: int, model: str, settings: CallSettings) -> str:
    if status == 404:
        where = f" and --api-base {redact(settings.api_base)}" if settings.api_base else ""
        return f"check the model string{where}"
    key = _key_hint(model, settings)
    if status == 401:
        return key
    return f"{key}; the key may lack access to this model, or the account may be restricted"


def _key_hint(model: str, settings: CallSettings) -> str:
    if settings.api_key_env:
        return f"check the key in {settings.api_key_env}"
    if settings.api_base:
        return "no key was sent; give --api-key-env NAME to send the key in $NAME"
    names = provider_key_names(model)
    return f"check {' and '.join(names)}" if names else "check the provider's key in the environment"
