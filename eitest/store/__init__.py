"""The SQLite store: runs, trials and the instruments each run used.

Everything downstream of administering reads from here, never from the catalogue.
"""

from eitest.store.database import (
    FINISHED_STATUSES,
    MIGRATIONS,
    TRIAL_COLUMNS,
    Results,
    RunRecord,
    Store,
    StoreError,
    now,
    open_results,
)

__all__ = [
    "MIGRATIONS",
    "FINISHED_STATUSES",
    "TRIAL_COLUMNS",
    "Results",
    "RunRecord",
    "Store",
    "StoreError",
    "now",
    "open_results",
]
