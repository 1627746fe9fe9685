"""Reading one choice from a piece of text that stands where an answer goes, and combining several.

A choice is ``(kind, position)``: ``letter``, ``letter_text`` (a letter with its own
option text) and ``text`` (an option's text alone) are answers; any other kind
(``multiple``, ``contradiction``, ``out_of_range``, ...) says why the text is not one.
:func:`read_choice` reads one fragment; :func:`combine` turns the places in a reply
that each state an answer into one verdict. The parser's rules decide where to look.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from eitest.administer.reply_patterns import (
    AFTER_LETTER_WORDS,
    CLEAN_TAIL,
    FILLER,
    HEAD_LETTER,
    HEDGE,
    JOIN,
    REVISION,
    TEXT_END,
    UNWRAP,
)

# A choice read from a piece of text: (kind, position). "letter", "letter_text" and "text"
# are answers; any other kind ("multiple", "contradiction", ...) is why it is not one.
Choice = tuple[str, int | None]
Found = list[tuple[int, bool, Choice]]  # (offset in the text, stated as final?, choice)
ANSWER_KINDS = ("letter", "letter_text", "text")
# How far past (or before) a decision phrase to read. An answer is a letter or an option
# text, never pages long, and the bound keeps pathological replies linear.
WINDOW = 200


@dataclass(frozen=True)
class Ctx:
    """What every rule needs to know of the item while reading one reply."""

    n: int  # options shown
    protocol: str
    option_res: tuple[re.Pattern[str], ...]  # each shown option's text, as a pattern (see option_patterns)


def normalize(text: str) -> str:
    # NFKC folds full-width letters and colons ("Ｂ", "：") to ASCII; curly apostrophes and
    # zero-width characters would otherwise break the word patterns.
    text = unicodedata.normalize("NFKC", text)
    return re.sub("[\u200b\u200c\u200d\ufeff]", "", text).replace("’", "'").replace("‘", "'")


@lru_cache(maxsize=512)
def option_patterns(options: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    # An option's words in order, any punctuation between them, so that "TALK TO THE MANAGER,
    # about the schedule!" still names "Talk to the manager about the schedule".
    patterns = []
    for text in options:
        words = re.findall(r"\w+(?:'\w+)?", normalize(text).lower())
        body = r"[\W_]+".join(map(re.escape, words)) if words else re.escape(text.strip())
        patterns.append(re.compile(rf"(?<!\w){body}(?!\w)", re.I))
    return tuple(patterns)


def letter_position(letter: str) -> int:
    return ord(letter.upper()) - ord("A")


def option_at(s: str, ctx: Ctx) -> tuple[int, int] | None:
    """(position, end) of the option whose text opens ``s``; the longest match wins."""
    hits = [(m.end(), k) for k, p in enumerate(ctx.option_res) if (m := p.match(s))]
    if not hits or [e for e, _ in hits].count(max(hits)[0]) > 1:
        return None
    end, k = max(hits)
    return k, end


def head_letter(s: str, ctx: Ctx) -> tuple[str, int | None, str] | None:
    """A letter opening ``s``: (kind, position, rest), or None when the opening is a word."""
    m = HEAD_LETTER.match(s)
    if not m or re.match(r"\.\w", s[m.end() :]):  # "A.I.", "U.S." are abbreviations
        return None
    letter, after, closing = m.group("letter"), s[m.end() :], m.group("close")
    marked = bool(
        m.group("word") or re.search(r"[(\[*_`]", m.group("pre") + m.group("open")) or re.search(r"[)\]*_`]", closing)
    )
    delimited = not after.strip() or bool(re.match(r"\s*(?:[.:;,!?/)\]]|[-–—(]|\n)", after))
    if not marked and not delimited:
        word = re.match(r"\s+([A-Za-z]+)", after)
        if letter.islower() or (letter in "AI" and word and word.group(1) not in AFTER_LETTER_WORDS):
            return None  # "a feeling of relief", "I think": an article or a pronoun
    pos = letter_position(letter)
    if pos >= ctx.n:
        return None if letter.upper() == "I" and not marked else ("out_of_range", None, after)
    rest = re.sub(r"^[\s.:;,)\]*_`\-–—(\"']*", "", after)
    text = option_at(rest, ctx)
    # The text belongs to the letter in "B) Guilt" and "B. Guilt, because ...", not in
    # "B. Anger would be wrong here", which comments on another option.
    if text is None or not (TEXT_END.match(rest, text[1]) or re.search(r"[)\]]", closing)):
        return "letter", pos, after
    return ("letter_text", pos, rest[text[1] :]) if text[0] == pos else ("contradiction", None, after)


def head_choice(s: str, ctx: Ctx) -> tuple[str, int | None, str] | None:
    if (got := head_letter(s, ctx)) is not None:
        return got
    s = FILLER.sub("", s, count=1)
    if (text := option_at(s, ctx)) is None:
        return None
    rest = s[text[1] :]
    label = re.match(r"\s*[(\[]([A-Za-z])[)\]]", rest)  # "Relief (B)": the letter must agree
    if label:
        agree = letter_position(label.group(1)) == text[0]
        return ("letter_text", text[0], rest[label.end() :]) if agree else ("contradiction", None, rest)
    return "text", text[0], rest


def read_choice(fragment: str, ctx: Ctx, *, clean_tail: bool = False) -> Choice | None:
    """What a piece of text standing where an answer goes names: one option, several, or nothing."""
    s = UNWRAP.sub(r"\1", fragment).replace("$", "")
    s = HEDGE.sub("", re.sub(r"^[\s#>]*([*_`]*)\s*", r"\1", s), count=1)
    if (first := head_choice(s, ctx)) is None:
        return None
    kind, pos, rest = first
    if kind not in ANSWER_KINDS:
        return kind, None
    if (join := JOIN.match(rest)) and (second := head_choice(rest[join.end() :], ctx)) and second[1] != pos:
        return "multiple", None
    if clean_tail and not CLEAN_TAIL.match(rest):
        return None
    return kind, pos


def combine(found: Found, text: str, ctx: Ctx) -> Choice | None:
    """One verdict from the places that each state an answer.

    A "final answer" outranks the rest; in a reasoning trace the last statement is the
    conclusion; otherwise statements must agree unless the reply visibly revises itself.
    """
    if not found:
        return None
    found = sorted([f for f in found if f[1]] or found, key=lambda f: f[0])
    if ctx.protocol == "reasoning":
        return found[-1][2]
    outcomes = {("answer", c[1]) if c[0] in ANSWER_KINDS else c for _, _, c in found}
    if len(outcomes) == 1:
        return found[0][2]
    last_at, _, last = found[-1]
    earlier = [at for at, _, c in found if c[1] != last[1] or c[0] not in ANSWER_KINDS]
    if last[0] in ANSWER_KINDS and earlier and REVISION.search(text[max(earlier) : last_at]):
        return last
    return "multiple", None
