"""A small store taken under the logprobs protocol by the offline responders, for the tests of what it gives."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import REPO

from eitest.administer.runner import run_study
from eitest.administer.study import Study

N_ITEMS = 6


def logprobs_store(folder: Path, *, seed: int, option_order: str) -> Path:
    """open-steu's first items (written here) as instrument ``steu-lp``, taken by chance and oracle, twice each."""
    data = yaml.safe_load((REPO / "instruments" / "open-steu.yaml").read_text(encoding="utf-8"))
    data["id"], data["items"] = "steu-lp", data["items"][:N_ITEMS]
    inst = folder / "steu-lp.yaml"
    inst.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    study = Study(
        models=["eitest/chance", "eitest/oracle"], instruments=[str(inst)], reps=2, seed=seed,
        protocol="logprobs", option_order=option_order,
    )  # fmt: skip
    run_study(study, folder / "lp.db")
    return folder / "lp.db"
