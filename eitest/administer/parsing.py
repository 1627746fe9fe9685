"""Reading a model's reply to a multiple-choice item: which shown option it chose, if any.

The model sees lettered options (``A) text``, ``B) text`` ...) under one of three protocols
(``standard``, ``reasoning``, ``json``). :func:`parse_reply` returns a :class:`ParseResult`:
a status from :data:`STATUSES`, the 0-based position of the chosen option in the shown
order, and the rule that decided. Strict rules run before lenient ones, as in inspect_ai's
multiple-choice scorer, and the first rule that recognises an answer, or recognises that
the reply is not one clean answer, decides.

Strict rules: ``lone_letter`` (the whole reply is ``B``, ``b.``, ``(B)``, ``**B**``, ``Option
B``); ``json`` / ``json_like`` (an answer/letter/choice key in a JSON object, intact or
broken); ``answer_line`` (``Answer: B``, ``Final answer: C``, ``Antwort: B``, ``答案：A``,
``Ответ: B``; in a reasoning trace the last one wins).

Lenient rules: ``leading_letter`` (a letter label opens the reply: ``B.``, ``**C**``),
``letter_with_text`` (a letter with its own option text: ``C) Relief``), ``option_text``
(an option's exact text alone, or after a decision: "the most likely emotion is relief"),
``answer_phrase`` (a decision with a letter: "The answer is (B).", "I'd choose C"),
``final_line`` (a short last line naming one letter), ``bold_letter`` / ``paren_letter`` /
``option_letter`` (the only letter a short reply marks up) and ``option_mention`` (the
only option text a short reply names, not negated or floated as a possibility).

Unparseable replies carry the reason as the rule: ``multiple`` (two or more options given
as the answer: "A or C", "B/D", "both A and C"), ``hedged`` (an answer offered with
another beside it or in its place: "B, unless it's C", "B. Or perhaps D", "C is equally
plausible", "between B and C"), ``out_of_range`` (a letter past the shown options), ``contradiction`` (a
letter with another option's text), ``json_number`` (a number, which may count from 0 or
1) and ``no_answer``. A refusal without an answer is ``refused``. Nothing here guesses:
a reply that can be read two ways is unparseable, so "no answer" stays apart from "wrong".
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from eitest.administer.reply_choice import (
    ANSWER_KINDS,
    WINDOW,
    Choice,
    Ctx,
    Found,
    between_options,
    combine,
    head_letter,
    hedged_after,
    letter_position,
    normalize,
    offered_in_turn,
    option_mentions,
    option_patterns,
    read_choice,
)
from eitest.administer.reply_mentions import bare_is_letter, marked_letters, mentioned
from eitest.administer.reply_patterns import (
    ANSWER_LINE,
    BARE_CAPITAL,
    DECISIONS,
    FEELS,
    FENCE,
    JSON_KEYS,
    JSON_LIKE,
    LABEL_LINE,
    LABEL_START,
    LONE,
    NEGATED,
    NEGATION_WORDS,
    NOT_APPLICABLE,
    QA_ANSWER,
    REFUSAL,
    SPECULATIVE,
    THINK,
    UNWRAP,
    VERDICT_AFTER,
    WEAK_DECISION,
)
from eitest.vocabulary import ProtocolName, Status

STATUSES: tuple[Status, ...] = tuple(Status)
PROTOCOL_NAMES: frozenset[str] = frozenset(ProtocolName)


@dataclass(frozen=True)
class ParseResult:
    """What a reply chose (``position``), or why it chose nothing usable (``status``, ``rule``)."""

    status: Status
    position: int | None  # 0-based index into the shown options when answered, else None
    rule: str | None  # name of the rule that decided (see the module docstring)


def _result(choice: Choice, rule: str, *, name_form: bool = False) -> ParseResult:
    kind, pos = choice
    if kind not in ANSWER_KINDS:
        return ParseResult(Status.UNPARSEABLE, None, kind)
    if name_form and kind != "letter":  # lenient rules name the form that decided
        rule = "letter_with_text" if kind == "letter_text" else "option_text"
    return ParseResult(Status.ANSWERED, pos, rule)


# --------------------------------------------------------------------------- strict rules
def _lone_letter(text: str, ctx: Ctx) -> ParseResult | None:
    if not (m := LONE.fullmatch(UNWRAP.sub(r"\1", text).replace("$", ""))):
        return None
    if (pos := letter_position(m.group(1))) >= ctx.n:
        return ParseResult(Status.UNPARSEABLE, None, "out_of_range")
    return ParseResult(Status.ANSWERED, pos, "lone_letter")


def _answer_lines(text: str, ctx: Ctx) -> ParseResult | None:
    found: Found = []
    matches = list(ANSWER_LINE.finditer(text))
    if re.search(r"^\s*Q\s*:", text, re.M):
        matches += QA_ANSWER.finditer(text)
    for m in matches:
        value = m.group("value")[:WINDOW]
        if not value.strip(" *_`"):  # "**Answer:**" with the letter on the next line
            nxt = re.match(r"[^\n]*\n\s*([^\n]+)", text[m.end() :])
            value = nxt.group(1) if nxt else ""
        if (choice := read_choice(value, ctx)) is not None:
            final = any(m.groupdict().get(g) for g in ("final", "final2", "final3"))
            found.append((m.start(), final, choice))
    choice = combine(found, text, ctx)
    return None if choice is None else _result(choice, "answer_line")


def _json_values(obj: object) -> list[object]:
    if not isinstance(obj, dict):
        return []
    keyed = {str(k).lower(): v for k, v in obj.items()}
    if "final_answer" in keyed:
        return [keyed["final_answer"]]
    values = [keyed[k] for k in JSON_KEYS if k in keyed]
    return values or [v for inner in obj.values() for v in _json_values(inner)]


def _json_choice(value: object, ctx: Ctx) -> Choice | None:
    if isinstance(value, str):
        return read_choice(value, ctx)
    if isinstance(value, list):
        choices = {c for v in value if (c := _json_choice(v, ctx)) is not None}
        return ("multiple", None) if len(choices) > 1 else next(iter(choices), None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "json_number", None  # 0-based or 1-based? Only the model knows.
    return None


def _json(text: str, ctx: Ctx) -> ParseResult | None:
    if "{" not in text:
        return None
    decoder, found, saw_key = json.JSONDecoder(), [], False
    for block in [m.group(1) for m in FENCE.finditer(text)] or [text]:
        start = block.find("{")
        while start != -1:
            try:
                obj, end = decoder.raw_decode(block, start)
            except ValueError:
                start = block.find("{", start + 1)
                continue
            values = _json_values(obj)
            saw_key = saw_key or bool(values)
            found += [(start, False, c) for v in values if (c := _json_choice(v, ctx)) is not None]
            start = block.find("{", end)
    if found:
        return _result(combine(found, text, ctx) or ("no_answer", None), "json")
    if saw_key:
        return None  # {"answer": null, ...} declines in valid JSON; the refusal check reads the rest
    # Truncated or hand-written JSON ('{answer: "B"', single quotes): read the key's value.
    found = [(m.start(), False, c) for m in JSON_LIKE.finditer(text) if (c := read_choice(m.group(2), ctx))]
    choice = combine(found, text, ctx)
    return None if choice is None else _result(choice, "json_like")


# --------------------------------------------------------------------------- lenient rules
def _label_letter(line: str) -> str | None:
    m = LABEL_LINE.match(line)
    return m.group(1).upper() if m else None


def _drop_echoed_options(lines: list[str], ctx: Ctx) -> tuple[list[str], int]:
    # Repeating the option list ("A) Anger", "B) Relief", ...) is not choosing; plain lines
    # that hold exactly the option of their letter are set aside, a bolded one is kept.
    echoed = set()
    for i, line in enumerate(lines):
        m = re.fullmatch(r"\s*(?:[-•]\s+)?\(?([A-Za-z])[).:]\s*(.+?)[.\s]*", line)
        if m and "*" not in line and letter_position(m.group(1)) < ctx.n:
            if ctx.option_res[letter_position(m.group(1))].fullmatch(m.group(2)):
                echoed.add(i)
    if len(echoed) < 2:
        return lines, 0
    return [line for i, line in enumerate(lines) if i not in echoed], len(echoed)


def _leading(lines: list[str], ctx: Ctx) -> ParseResult | None:
    first = re.sub(r"^(?:[-•>]\s+|#+\s*)", "", lines[0].strip())
    if (got := head_letter(first, ctx)) is None:
        return None
    if read_choice(first, ctx) == ("multiple", None):  # "A or C", "B, D"
        return ParseResult(Status.UNPARSEABLE, None, "multiple")
    # Only a label opens an answer ("B.", "(C) Gratitude", "**D**"); "A is unlikely" and
    # "Option A is tempting" open a comment on an option, which _decisions reads instead.
    if not LABEL_START.match(first):
        return None
    kind, pos, rest = got
    only_answer = not re.sub(r"[\s.!*_`)\]]", "", rest)
    if kind == "out_of_range":
        return ParseResult(Status.UNPARSEABLE, None, kind) if only_answer else None  # "Q: How would ..."
    if kind == "contradiction":
        return ParseResult(Status.UNPARSEABLE, None, kind)
    # "A) Anger is unlikely ... C) Relief fits" walks through the options and the first label
    # is not the answer; a first line that holds only the answer is decisive regardless.
    body = "\n".join(lines)
    others = {_label_letter(line) for line in lines[1:]} | {x.upper() for x in marked_letters(body)}
    others |= {m.group(1) for m in re.finditer(r"(?<![\w(])([A-Z])\)", body)}
    if not only_answer and (pos is None or others - {None, chr(ord("A") + pos)}):
        return None
    return _result((kind, pos), "leading_letter", name_form=True)


def _decisions(body: str, ctx: Ctx) -> ParseResult | None:
    found: Found = []
    for pattern in (*DECISIONS, FEELS, WEAK_DECISION):
        for m in pattern.finditer(body):
            before = body[max(0, m.start() - 40) : m.start()]
            if NEGATED.search(before) or pattern is FEELS and SPECULATIVE.search(before):
                continue
            fragment = body[m.end() : m.end() + WINDOW].split("\n", 1)[0]
            if (choice := read_choice(fragment, ctx, clean_tail=pattern is WEAK_DECISION)) is not None:
                found.append((m.start(), bool(m.groupdict().get("final")), choice))
    for m in VERDICT_AFTER.finditer(body):
        choice = _choice_before(body[max(0, m.start() - WINDOW) : m.start()], ctx)
        if choice is not None and not NEGATED.search(body[max(0, m.start() - 40) : m.start()]):
            found.append((m.start(), False, choice))
    choice = combine(found, body, ctx)
    return None if choice is None else _result(choice, "answer_phrase", name_form=True)


def _choice_before(before: str, ctx: Ctx) -> Choice | None:
    """The choice that ends ``before``: "Option C", "**C**", "C) Relief", "Relief"."""
    line = before[-WINDOW:].rsplit("\n", 1)[-1].rstrip(" *_`\"'")
    for k, p in enumerate(ctx.option_res):
        ends = [m for m in p.finditer(line) if m.end() == len(line)]
        if ends:
            label = re.search(r"(?<![A-Za-z])([A-Z])[).:]?\s*[*_`]*\s*[(\[]?$", line[: ends[0].start()])
            if label is None:
                return "text", k
            return ("letter_text", k) if letter_position(label.group(1)) == k else ("contradiction", None)
    m = re.search(r"(?:(?:option|choice)\s+|(?<![\w'.\-]))[(\[*`]*([A-Za-z])[)\]*`]*$", line, re.I)
    if not m or (m.group(1).islower() and not re.search(r"option|choice|[(\[*`]", m.group(0), re.I)):
        return None
    pos = letter_position(m.group(1))
    if pos >= ctx.n:
        return None if m.group(1).upper() == "I" else ("out_of_range", None)
    return "letter", pos


def _final_line(lines: list[str], ctx: Ctx) -> ParseResult | None:
    last = re.sub(r"^(?:[-•>]\s+|#+\s*)", "", lines[-1].strip())
    last = re.sub(
        r"^(?:so|thus|therefore|hence|overall|in\s+short|in\s+conclusion|=>|→)\b[\s,:]*", "", last, flags=re.I
    )
    if len(last.split()) > 8:
        return None
    if _label_letter(last) and any(_label_letter(line) for line in lines[:-1]):
        return None  # the last item of a walk through the options, not a conclusion
    # "I'm not sure. Maybe B or C?": the line's last sentence may hold the choice on its own.
    for part in dict.fromkeys((last, re.split(r"(?<=[.!?])\s+(?=\S)", last)[-1])):
        part = re.sub(r"^(?:no,?\s+)?(?:wait|actually)\b[\s,:-]*", "", part, flags=re.I)  # "No wait, B."
        if NEGATION_WORDS.search(part):
            continue
        if (choice := read_choice(part, ctx, clean_tail=True)) is not None:
            return _result(choice, "final_line", name_form=True)
    if NEGATION_WORDS.search(last):
        return None
    letters = {letter_position(x) for x in marked_letters(last)}
    letters |= {letter_position(m.group(1)) for m in BARE_CAPITAL.finditer(last) if bare_is_letter(last, m)}
    letters = {p for p in letters if p < ctx.n}
    return ParseResult(Status.ANSWERED, letters.pop(), "final_line") if len(letters) == 1 else None


# --------------------------------------------------------------------------- entry point
# A reply this short is read once for each option list (texts in the order shown) and protocol, then looked
# up: a model answering "B" to an item in every repetition costs one reading (40-80 us in a run, caches cold).
SHORT_REPLY = 200


def parse_reply(
    reply: str | None, options: Sequence[str], *, protocol: str = "standard", error: str | None = None
) -> ParseResult:
    """Read which shown option a reply chose.

    ``options`` are the option texts in shown order (letters A, B, ... by position);
    ``error`` is the client's error message when the call failed, which decides alone.
    """
    if protocol not in PROTOCOL_NAMES:
        raise ValueError(f"unknown protocol {protocol!r}; use one of: {', '.join(ProtocolName)}")
    if isinstance(options, str) or not 2 <= len(options) <= 26:
        raise ValueError("options must be a sequence of 2 to 26 option texts, in shown order")
    if error is not None:
        return ParseResult(Status.ERROR, None, "error")
    if reply is None or not reply.strip():
        return ParseResult(Status.EMPTY, None, "empty")
    if len(reply) <= SHORT_REPLY:
        return _read_short(reply, tuple(options), protocol)
    return _read(reply, tuple(options), protocol)


def _read(reply: str, options: tuple[str, ...], protocol: str) -> ParseResult:
    ctx = Ctx(len(options), protocol, option_patterns(options))
    text = normalize(reply)
    # A <think> block is deliberation and the reply proper follows it. An unclosed one means
    # the reply was cut off mid-thought: then only an explicit answer line counts.
    text = THINK.sub("", text).strip() or text.strip()
    cut_off = re.search(r"<think", text, re.I) is not None and re.search(r"</think", text, re.I) is None

    if (got := _lone_letter(text, ctx)) is not None:
        return got
    # JSON first when it is the protocol or the reply's shape, so that "answer:" inside a
    # JSON string is read as part of the object rather than as an answer line.
    json_first = protocol == "json" or text.startswith(("{", "```"))
    for rule in (_json, _answer_lines) if json_first else (_answer_lines, _json):
        if (got := rule(text, ctx)) is not None:
            return got
    if cut_off:
        return ParseResult(Status.UNPARSEABLE, None, "no_answer")

    lines, n_echoed = _drop_echoed_options([line for line in text.splitlines() if line.strip()], ctx)
    if not lines:  # only the option list: all of it quoted, or some of it offered
        return ParseResult(Status.UNPARSEABLE, None, "no_answer" if n_echoed >= ctx.n - 1 else "multiple")
    body = "\n".join(lines)
    if NOT_APPLICABLE.fullmatch(body):  # "N/A" declines; it is not option N
        return ParseResult(Status.REFUSED, None, "refusal")
    whole = re.sub(r"^[\W_]+|[\W_]+$", "", body)
    for k, p in enumerate(ctx.option_res):
        if p.fullmatch(whole):
            return ParseResult(Status.ANSWERED, k, "option_text")
    got = _leading(lines, ctx) or _decisions(body, ctx) or _final_line(lines, ctx)
    if got is not None:
        return _unless_hedged(got, body, ctx)
    if between_options(body, ctx):  # "I can't decide between A and B" names two, and declines neither
        return ParseResult(Status.UNPARSEABLE, None, "hedged")
    if REFUSAL.search(body):
        return ParseResult(Status.REFUSED, None, "refusal")
    by, position = mentioned(body, ctx)
    got = ParseResult(Status.UNPARSEABLE if position is None else Status.ANSWERED, position, by)
    # "It could be D, or perhaps A." A long discussion with no answer stays no_answer (and linear).
    if (
        got.rule == "no_answer"
        and len(body) <= 4 * WINDOW
        and any(offered_in_turn(body[e : e + WINDOW], k, ctx) for _, e, k in option_mentions(body, ctx))
    ):
        return ParseResult(Status.UNPARSEABLE, None, "hedged")
    return _unless_hedged(got, body, ctx)


_read_short = functools.lru_cache(maxsize=8192)(_read)


def _unless_hedged(got: ParseResult, body: str, ctx: Ctx) -> ParseResult:
    if got.status == Status.ANSWERED and got.position is not None and hedged_after(body, got.position, ctx):
        return ParseResult(Status.UNPARSEABLE, None, "hedged")
    return got
