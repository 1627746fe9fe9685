"""A user's file as text: the one error type of this package, bounds, encodings."""

from __future__ import annotations

import codecs
from pathlib import Path

from eitest.errors import EitestError

MAX_FILE_BYTES = 50 * 1024 * 1024
# The first bytes of an .xlsx/.ods (a zip archive) and of an old .xls: a workbook saved under a text name.
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


class ReadError(EitestError, ValueError):
    """A file that cannot be read as what it should be; ``problems`` holds (where, what and the fix) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {where}: {message}" for where, message in problems))

    @classmethod
    def one(cls, source: str, where: str, message: str) -> ReadError:
        return cls(source, [(where, message)])


def read_text(path: str | Path, what: str, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The text of the file at ``path``, which should be ``what`` (e.g. "an instrument file").

    UTF-8, with a byte-order mark (Excel's "CSV UTF-8") dropped; UTF-16 with its
    byte-order mark (Excel's "Unicode text") is decoded too. Anything else, and a
    directory, a missing or unreadable file or one over ``max_bytes``, is a
    :class:`ReadError` naming the file.
    """
    path = Path(path)
    src = str(path)
    try:
        if path.is_dir():
            raise ReadError.one(src, "(file)", f"is a directory, not {what}; give the path of the file itself")
        if path.exists() and not path.is_file():
            raise ReadError.one(src, "(file)", f"is not a regular file, so it cannot be {what}")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise ReadError.one(src, "(file)", "no such file") from None
    except PermissionError:
        raise ReadError.one(src, "(file)", "cannot be read (permission denied); check the file's permissions") from None
    except OSError as exc:
        raise ReadError.one(src, "(file)", f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise ReadError.one(
            src,
            "(file)",
            f"is larger than {max_bytes // (1024 * 1024)} MB, too large for {what}; is it the right file?",
        )
    return decode(data, src)


def decode(data: bytes, source: str) -> str:
    """``data`` as text: UTF-8 (a BOM dropped) or BOM-marked UTF-16; else a :class:`ReadError` with the line."""
    if data.startswith(_WORKBOOK_MAGIC):
        raise ReadError.one(
            source, "(file)", "is a spreadsheet workbook (.xlsx, .ods or .xls), not text; save it as 'CSV UTF-8'"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ReadError.one(source, "(file)", "starts as UTF-16 text but is damaged; save it as UTF-8") from None
        return _without_nul(text, source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ReadError.one(
            source,
            f"line {line}",
            f"byte 0x{data[exc.start]:02x} (at byte {exc.start}) is not UTF-8 text; save the file as UTF-8"
            " (in Excel: Save As, 'CSV UTF-8'; in an editor: encoding UTF-8)",
        ) from None
    return _without_nul(text, source)


def _without_nul(text: str, source: str) -> str:
    # No text format eitest reads allows a NUL; one is a sign of a damaged or binary file,
    # and it would be cut silently by C libraries (SQLite's text functions, SPSS) downstream.
    at = text.find("\x00")
    if at < 0:
        return text
    line = text.count("\n", 0, at) + 1
    raise ReadError.one(
        source,
        f"line {line}",
        "holds a NUL character (U+0000), which no text file should; remove it"
        " (a UTF-16 file without its byte-order mark? save it as UTF-8)",
    )
