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
    ALTERNATIVE_AFTER,
    BARE_CAPITAL,
    BETWEEN,
    CLEAN_TAIL,
    EQUAL_AFTER,
    FILLER,
    HEAD_LETTER,
    HEDGE,
    JOIN,
    NEGATION_WORDS,
    REVISION,
    SO_DOES,
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
    option_res: tuple[re.Pattern[str], ...]  # each shown option's text, as a pattern (see option_pattern)


def normalize(text: str) -> str:
    # NFKC folds full-width letters and colons ("Ｂ", "：") to ASCII; curly apostrophes and
    # zero-width characters would otherwise break the word patterns.
    text = unicodedata.normalize("NFKC", text)
    return re.sub("[\u200b\u200c\u200d\ufeff]", "", text).replace("’", "'").replace("‘", "'")


def option_patterns(options: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Each option's text as a pattern, in the order shown."""
    return tuple(map(option_pattern, options))


# Cached by text, not by the options' order: shuffled, nearly every trial shows its item's options
# in an order of its own, and a cache of whole orders missed so often that each reply compiled its patterns anew.
@lru_cache(maxsize=8192)
def option_pattern(text: str) -> re.Pattern[str]:
    # An option's words in order, any punctuation between them, so that "TALK TO THE MANAGER,
    # about the schedule!" still names "Talk to the manager about the schedule".
    words = re.findall(r"\w+(?:'\w+)?", normalize(text).lower())
    body = r"[\W_]+".join(map(re.escape, words)) if words else re.escape(text.strip())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.I)


def letter_position(letter: str) -> int:
    return ord(letter.upper()) - ord("A")


def option_at(s: str, ctx: Ctx) -> tuple[int, int] | None:
    """(position, end) of the option whose text opens ``s``; the longest match wins."""
    hits = [(m.end(), k) for k, p in enumerate(ctx.option_res) if (m := p.match(s))]
    if not hits or [e for e, _ in hits].count(max(hits)[0]) > 1:
        return None
    end, k = max(hits)
    return k, end


# Verbs that follow a second option's letter in a hedge: "or A could", "or A might", "or A is".
VERBS_AFTER_SECOND = AFTER_LETTER_WORDS | frozenset(
    "could might may can should will also too are seem fit work".split()
)


def head_letter(s: str, ctx: Ctx, *, second: bool = False) -> tuple[str, int | None, str] | None:
    """A letter opening ``s``: (kind, position, rest), or None when the opening is a word.

    ``second``: ``s`` follows another choice and a join ("D or A could be right"), where a
    capital A is the letter, not the article.
    """
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
        # After a join ("D or A could be right") a verb makes A the letter; a noun keeps it the article
        # ("B. Otherwise A colleague might step in").
        article = letter == "A" and not (second and word and word.group(1).lower() in VERBS_AFTER_SECOND)
        if letter.islower() or ((article or letter == "I") and word and word.group(1) not in AFTER_LETTER_WORDS):
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


def head_choice(s: str, ctx: Ctx, *, second: bool = False) -> tuple[str, int | None, str] | None:
    if (got := head_letter(s, ctx, second=second)) is not None:
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
    if re.match(r"(?:somewhere\s+|something\s+)?between\b", s, re.I) and between_options(s, ctx):
        return "hedged", None
    if (first := head_choice(s, ctx)) is None:
        return None
    kind, pos, rest = first
    if kind not in ANSWER_KINDS:
        return kind, None
    if (join := JOIN.match(rest)) and (other := head_choice(rest[join.end() :], ctx, second=True)) and other[1] != pos:
        return "multiple", None
    near = rest[:WINDOW]  # what follows the choice closely (a fragment may be a whole megabyte line)
    if _offered_after(near, pos, ctx) or offered_as_equal(near, pos, ctx):
        return "hedged", None
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


# --------------------------------------------------------------------------- hedges
def _is_answer(got: tuple[str, int | None, str] | None) -> bool:
    return got is not None and got[0] in ANSWER_KINDS


def _offered_after(rest: str, pos: int | None, ctx: Ctx) -> bool:
    """Whether ``rest``, right after a choice, offers another option in its place: "... or C", "? Or maybe C"."""
    if not (m := ALTERNATIVE_AFTER.match(rest)):
        return False
    other = head_choice(rest[m.end() :], ctx, second=True)
    return _is_answer(other) and other[1] != pos  # type: ignore[index]


def option_mentions(text: str, ctx: Ctx) -> list[tuple[int, int, int]]:
    """(start, end, position) of each shown option that ``text`` names, by capital letter or by text."""
    found = []
    for m in BARE_CAPITAL.finditer(text):
        letter = m.group(1)
        if (pos := letter_position(letter)) >= ctx.n:
            continue
        word = re.match(r"[)\]*_`]*\s+([a-z]+)", text[m.end() :])
        if letter in "AI" and word and word.group(1) not in AFTER_LETTER_WORDS | {"could", "might", "may", "also"}:
            continue  # the article or the pronoun
        found.append((m.start(), m.end(), pos))
    found += [(m.start(), m.end(), k) for k, p in enumerate(ctx.option_res) for m in p.finditer(text)]
    return sorted(found)


def offered_as_equal(text: str, pos: int | None, ctx: Ctx) -> bool:
    """Whether ``text`` holds up another option than ``pos`` as just as good: "C is equally plausible", "so does D"."""
    for start, end, k in option_mentions(text, ctx):
        if k == pos:
            continue
        if (m := EQUAL_AFTER.match(text, end)) and not NEGATION_WORDS.search(m.group(0)):
            return True
        if SO_DOES.search(text[max(0, start - 20) : start]):
            return True
    return False


def offered_in_turn(text: str, pos: int | None, ctx: Ctx) -> bool:
    """Whether ``text`` (after a choice) or a sentence or line of it opens by offering another option: "B.\nOr D"."""
    if _offered_after(text, pos, ctx):
        return True
    for m in re.finditer(r"(?:^|[.!?…]\s+|\n)(?=\s*(?:or|otherwise|alternatively)\b)", text, re.I):
        if _offered_after(text[m.end() :], pos, ctx):
            return True
    return False


def hedged_after(body: str, pos: int, ctx: Ctx) -> bool:
    """Whether ``body``, which chose ``pos``, goes on to offer another option as well ("D\nOr perhaps A").

    What comes before the chosen option is deliberation ("A is tempting, but B"); what follows
    it may take the choice back. In a reasoning trace the last mention is the conclusion.
    """
    ends = [end for _, end, k in option_mentions(body, ctx) if k == pos]
    if not ends:
        return False
    start = ends[-1] if ctx.protocol == "reasoning" else ends[0]
    after = body[start : start + 2 * WINDOW]  # a hedge follows its choice closely; replies may be megabytes
    return offered_in_turn(after, pos, ctx) or offered_as_equal(after, pos, ctx)


def between_options(text: str, ctx: Ctx) -> bool:
    """Whether ``text`` places the answer between two options: "between B and C", "torn between relief and guilt"."""
    for m in BETWEEN.finditer(text):
        first = head_choice(text[m.end() :], ctx, second=True)
        if not _is_answer(first):
            continue
        join = re.match(r"[\s)\]*_`\"']*(?:,|/|&|\band\b|\bor\b)\s*(?:option\s+|choice\s+)?", first[2])  # type: ignore[index]
        other = head_choice(first[2][join.end() :], ctx, second=True) if join else None  # type: ignore[index]
        if _is_answer(other) and other[1] != first[1]:  # type: ignore[index]
            return True
    return False
