"""Instruments and items: the format and its validation, the loaders, and the catalogue.

- :mod:`eitest.instruments.model`: ``Instrument``, ``Item``, validation, content hash.
- :mod:`eitest.instruments.loaders`: YAML, JSON, CSV and Hugging Face datasets.
- :mod:`eitest.instruments.registry`: shipped instruments, user imports, ``get``.
"""

from eitest.instruments.irt_params import IrtParams
from eitest.instruments.loaders import (
    CSV_REQUIRED,
    load,
    load_csv,
    load_dataset,
    load_json,
    load_yaml,
    rows_to_items,
)
from eitest.instruments.model import (
    RESPONSE_FORMATS,
    SCORINGS,
    Instrument,
    InstrumentError,
    Item,
    Option,
    Problem,
    Published,
    check_item,
    dump_yaml,
    parse_instrument,
)
from eitest.instruments.registry import (
    UnknownInstrument,
    catalogue,
    check_import,
    get,
    import_instrument,
    shipped,
)

__all__ = [
    "CSV_REQUIRED",
    "RESPONSE_FORMATS",
    "SCORINGS",
    "Instrument",
    "InstrumentError",
    "IrtParams",
    "Item",
    "Option",
    "Problem",
    "Published",
    "UnknownInstrument",
    "catalogue",
    "check_import",
    "check_item",
    "dump_yaml",
    "get",
    "import_instrument",
    "load",
    "load_csv",
    "load_dataset",
    "load_json",
    "load_yaml",
    "parse_instrument",
    "rows_to_items",
    "shipped",
]
