"""Reading the files users bring (instruments, norms, studies, designs, responses) as editors and spreadsheets write them.

Every reader of a user's file goes through here, so that a directory given as a
file, a file in the wrong encoding, a YAML alias bomb, a duplicate key, a JSON
nested 100,000 deep or a CSV saved by Excel is treated the same whichever command
read it: read correctly where the intent is clear (a BOM, a ``;`` or tab
separator, a line break inside a quoted cell, blank trailing rows), else a
:class:`ReadError` naming the file, the line and the fix, which each reader turns
into its own error type (``InstrumentError``, ``StudyError``, ...).
"""

from eitest.reading.structured import MAX_DEPTH, parse_json, parse_yaml, read_json, read_yaml, yaml_key_lines
from eitest.reading.tables import MAX_CELL_CHARS, SEPARATORS, CsvRow, CsvTable, parse_csv, read_csv, sniff_separator
from eitest.reading.text import MAX_FILE_BYTES, ReadError, decode, read_text

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "SEPARATORS",
    "CsvRow",
    "CsvTable",
    "ReadError",
    "decode",
    "parse_csv",
    "parse_json",
    "parse_yaml",
    "read_csv",
    "read_json",
    "read_text",
    "read_yaml",
    "sniff_separator",
    "yaml_key_lines",
]
