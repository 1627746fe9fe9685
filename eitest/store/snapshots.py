"""The instruments a run used, as the store keeps them: snapshots by content hash.

A snapshot is the instrument's normalized content as JSON; a run written before
snapshots were kept is resolved from the catalogue only when the content hash is the run's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eitest.store.opening import StoreError
from eitest.store.trial import storable_text

if TYPE_CHECKING:
    from eitest.instruments import Instrument
    from eitest.store.database import RunRecord


class UnresolvedInstrument(StoreError):
    """A run's instrument is neither in the store nor, in the version the run used, in the catalogue."""


@dataclass(frozen=True)
class RunInstruments:
    """The instruments each run used, and the runs left out because their items are not known."""

    by_run: dict[str, dict[str, Instrument]]  # run id -> instrument id -> the instrument as the run used it
    left_out: dict[str, str]  # run id -> why its items are not known


def snapshot_json(inst: Instrument) -> str:
    """The instrument as JSON; ASCII-escaped when its text holds what UTF-8 cannot (it reads back the same)."""
    text = json.dumps(inst.normalized(), sort_keys=True, ensure_ascii=False)
    return text if storable_text(text) is text else json.dumps(inst.normalized(), sort_keys=True)


def catalogue_match(record: RunRecord, inst_id: str, digest: str, catalogue: Mapping[str, Instrument]) -> Instrument:
    """The catalogue's instrument when it is the one the run used; never another version."""
    current = catalogue.get(inst_id)
    if current is not None and current.content_hash == digest:
        return current
    if current is None:
        now_there = f"the catalogue has no {inst_id}"
    elif current.is_metadata_only:
        now_there = f"the catalogue's {inst_id} has no items on this machine (content hash {current.content_hash[:12]})"
    else:
        now_there = f"the catalogue's {inst_id} is another version (content hash {current.content_hash[:12]})"
    from eitest.paths import user_instrument_dir

    raise UnresolvedInstrument(
        f"run {record.id} used {inst_id} with content hash {digest[:12]}; the store keeps no copy of those items "
        f"(it was written before eitest kept them) and {now_there}, so analysing it would score the run against "
        f"items it did not use. Put back the file the run used: 'eitest instruments import {inst_id} FILE' for a "
        f"published test, or a copy of your own file in {user_instrument_dir()}; a test shipped with eitest comes "
        f"back with the eitest version the run used ({record.eitest_version}). Then run the command again"
    )
