"""Control characters in data, shown rather than obeyed: one rule for the terminal and the report.

Text from files, stores and model replies may hold characters that act instead of
print: a terminal escape clears the screen or plants a hyperlink, a bidirectional
override reorders what a reader sees, a NUL cuts a string in C code. Wherever eitest
shows such text to a person it writes each one as a visible escape (``\\x1b``,
``\\u202e``); tab and newline are kept.
"""

from __future__ import annotations

import re

# C0 but tab and newline, DEL, C1 (U+009B is an 8-bit CSI), the bidirectional embeddings,
# overrides and isolates, and lone surrogates (unprintable, and not encodable as UTF-8).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# The same but carriage return, which a page may keep where a terminal would return the cursor.
_CONTROL_BUT_CR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible_controls(text: str, *, keep_cr: bool = False) -> str:
    """``text`` with each control character (see the module) written as ``\\xNN`` or ``\\uNNNN``."""
    return (_CONTROL_BUT_CR if keep_cr else CONTROL).sub(_escape, text)
