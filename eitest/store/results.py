"""A store opened for reading in a notebook: ``eitest.open_results(path).trials``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from eitest.store.database import Store

if TYPE_CHECKING:
    import pandas as pd


class Results:
    """A store opened for reading, for notebooks: ``eitest.open_results(path).trials``."""

    def __init__(self, path: str | Path):
        self._store = Store(path, create=False)
        self.path = self._store.path

    @property
    def trials(self) -> pd.DataFrame:
        return self._store.trials()

    @property
    def runs(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([r.__dict__ for r in self._store.runs()])

    def close(self) -> None:
        self._store.close()


def open_results(path: str | Path) -> Results:
    return Results(path)
