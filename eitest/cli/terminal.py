"""Text made safe for a terminal: what comes from data is shown, never obeyed.

Everything the command line prints may hold text from files, stores and model
replies. :func:`safe_text` shows each control character as a visible escape
(``\\x1b``), so that an instrument name cannot clear the screen, retitle the
window, plant a hyperlink or reorder what is shown; tab and newline are kept.
:func:`json_text` keeps JSON exact for programs and still inert on a terminal.
"""

from __future__ import annotations

import json
import re
from typing import Any

import click

from eitest.controls import visible_controls

# json.dumps escapes C0 itself; what it leaves raw with ensure_ascii=False.
_JSON_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def safe_text(value: object) -> str:
    """``value`` as text a terminal prints literally: each control character shown as an escape (``\\x1b``)."""
    return visible_controls(value if isinstance(value, str) else str(value))


def json_text(data: Any, **kwargs: Any) -> str:
    """``json.dumps(data)`` with the characters a terminal would act on written as ``\\uXXXX`` escapes.

    They occur only inside JSON strings, where the escape is valid JSON and decodes to
    the same text: the output stays exact data for programs.
    """
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, ensure_ascii=False, **kwargs))


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` for a line that may hold data: control characters shown, never sent."""
    click.echo(safe_text(message), err=err, nl=nl)
