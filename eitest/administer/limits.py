"""The bounds of a study's values, shared by the Study model and the command line's option types.

Kept apart from :mod:`eitest.administer.study` so that the command line can name them
without importing pydantic (``eitest --help`` stays fast). Each bound is a value past
which a run is a mistake, not a choice: a provider refuses it, it overflows a timer,
or it asks for more trials than one process can hold.
"""

from __future__ import annotations

MAX_REPS = 10_000
MIN_TEMPERATURE = 0
MAX_TEMPERATURE = 2  # the widest range providers accept (OpenAI, Gemini: 0 to 2)
MAX_SEED = 2**32 - 1  # a seed any generator takes whole (numpy refuses negative seeds)
MAX_CONCURRENCY = 1024  # calls in flight; past this a run meets open-file limits before any rate limit
MAX_TOKENS = 10_000_000
MAX_TIMEOUT_S = 86_400  # a day; asyncio timers overflow on the very large
MAX_RETRIES = 100  # each wait is capped (backoff_max_s), so this bounds a failing call to under an hour
MAX_BACKOFF_S = 3_600
# Client-side rate limits per model: above these no provider's tier reaches, so a larger value is a typo.
MAX_RPM = 1_000_000
MAX_TPM = 10_000_000_000
# Trials in one plan: a plan of 2,000,000 holds about 0.5 GB and takes some 20 s to build; the
# limit refuses a plan before building it runs out of memory (--reps 1000000000 did, after 50 s).
MAX_TRIALS = 2_000_000
# Batch mode: seconds between polls of a batch, and of waiting for one in a run (a batch's window is a day).
MAX_BATCH_POLL_S = 3_600
MAX_BATCH_WAIT_S = 7 * 86_400
MAX_LABEL_CHARS = 100  # a run's label: a date or a model version, not a document
