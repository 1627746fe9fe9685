"""The SQLite store: runs, trials and the instruments each run used.

Everything downstream of administering reads from here, never from the catalogue:
:meth:`Store.run_instruments` gives a run's instruments as the run used them.
"""

from eitest.store.database import (
    FINISHED_STATUSES,
    MIGRATIONS,
    TRIAL_COLUMNS,
    RunInstruments,
    RunRecord,
    Store,
    StoreError,
    UnresolvedInstrument,
    now,
)
from eitest.store.results import Results, open_results

__all__ = [
    "MIGRATIONS",
    "FINISHED_STATUSES",
    "TRIAL_COLUMNS",
    "Results",
    "RunInstruments",
    "RunRecord",
    "Store",
    "StoreError",
    "UnresolvedInstrument",
    "now",
    "open_results",
]
