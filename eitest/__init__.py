"""eitest: ability emotional-intelligence tests for language models, compared with human norms.

The Python API is what the command line calls; notebooks use it directly::

    import eitest
    eitest.run_study(eitest.Study(models=["eitest/oracle"], instruments=["open-steu"]), "eitest.db")
    results = eitest.open_results("eitest.db")      # results.trials -> DataFrame
    analysis = eitest.analyze("eitest.db")          # analysis.scores, .summary, ...

Submodules are imported on first use, so ``import eitest`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "Study": "eitest.administer.study",
    "run_study": "eitest.administer.runner",
    "load_study": "eitest.administer.study",
    "open_results": "eitest.store",
    "analyze": "eitest.scoring.analysis",
    "get_instrument": ("eitest.instruments", "get"),
    "catalogue": "eitest.instruments",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    target = _API.get(name)
    if target is None:
        raise AttributeError(f"module 'eitest' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    return getattr(importlib.import_module(module), attr)
