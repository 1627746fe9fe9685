"""The catalogue: instruments shipped with eitest and the user's imports of licensed tests.

Published tests whose items belong to their authors ship as metadata only: the
``published`` block says how many items and options the real test has, and a
user's import of the licensed items is checked against it (:func:`check_import`)
and stored in the user data directory, never in the package.
"""

from __future__ import annotations

from pathlib import Path

from eitest.errors import EitestError
from eitest.instruments.loaders import load, load_yaml
from eitest.instruments.model import Instrument, InstrumentError, Problem, dump_yaml
from eitest.paths import package_instrument_dir, user_instrument_dir

_cache: dict[Path, tuple[float, int, Instrument]] = {}


def _load_cached(path: Path) -> Instrument:
    # Instruments are immutable, so a file unchanged since it was last read is not parsed again.
    stat = path.stat()
    hit = _cache.get(path)
    if hit and hit[0] == stat.st_mtime and hit[1] == stat.st_size:
        return hit[2]
    inst = load_yaml(path)
    _cache[path] = (stat.st_mtime, stat.st_size, inst)
    return inst


def _load_dir(directory: Path) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    for f in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        inst = _load_cached(f)
        found[inst.id] = inst
    return found


def shipped() -> dict[str, Instrument]:
    """Instruments shipped with eitest: open item sets and metadata of published tests."""
    return _load_dir(package_instrument_dir())


def catalogue() -> dict[str, Instrument]:
    """Every instrument known: shipped ones, with the user's imports in place of metadata-only entries."""
    found = shipped()
    for inst_id, inst in _load_dir(user_instrument_dir()).items():
        if inst_id not in found or found[inst_id].is_metadata_only:
            found[inst_id] = inst
    return dict(sorted(found.items()))


class UnknownInstrument(EitestError, KeyError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"unknown instrument {name!r}; known: {', '.join(known)}")

    def __str__(self) -> str:
        return self.args[0]


def get(id_or_path: str) -> Instrument:
    """An instrument by catalogue id, or loaded from a file path."""
    cat = catalogue()
    if id_or_path in cat:
        return cat[id_or_path]
    p = Path(id_or_path)
    if p.exists():
        return load(p)
    raise UnknownInstrument(id_or_path, sorted(cat))


def check_import(meta: Instrument, imported: Instrument) -> list[Problem]:
    """Where ``imported`` differs from the published structure recorded in ``meta``."""
    pub = meta.published
    src = f"import of {meta.id}"
    problems: list[Problem] = []
    if pub is None:
        return [Problem(src, None, "id", f"{meta.id} ships its own items; it is not a published test to import")]
    if pub.n_items is not None and imported.n_items != pub.n_items:
        problems.append(Problem(src, None, "items", f"{imported.n_items} items, but {meta.id} has {pub.n_items}"))
    if pub.n_options is not None:
        for it in imported.items:
            if len(it.options) != pub.n_options:
                problems.append(
                    Problem(
                        src, it.id, "options", f"{len(it.options)} options, but {meta.id} items have {pub.n_options}"
                    )
                )
    if pub.scoring and imported.scoring not in pub.scoring:
        problems.append(
            Problem(src, None, "scoring", f"{imported.scoring!r}, but {meta.id} is scored {' or '.join(pub.scoring)}")
        )
    return problems


def import_instrument(instrument_id: str, path: str | Path, scoring: str | None = None) -> Path:
    """Import a user's licensed item file for a published test into the user data directory."""
    known = shipped()
    if instrument_id not in known:
        raise UnknownInstrument(instrument_id, sorted(known))
    entry = known[instrument_id]
    metadata = entry.normalized()
    metadata.pop("items", None)
    if scoring:
        metadata["scoring"] = scoring
    imported = load(path, metadata)
    problems = check_import(entry, imported)
    if problems:
        raise InstrumentError(problems)
    from eitest.files import write_checked

    return write_checked(user_instrument_dir() / f"{instrument_id}.yaml", dump_yaml(imported), load_yaml)
