"""Reading a model's reply to a multiple-choice item: which shown option it chose, if any.

The model sees the options as lettered lines (``A) text``, ``B) text`` ...) under one of
three protocols (``standard``, ``reasoning``, ``json``). :func:`parse_reply` maps its reply
to a :class:`ParseResult`: a status from :data:`STATUSES`, the 0-based position of the
chosen option in the shown order, and the name of the rule that decided.

Rules run strict first, lenient after (as inspect_ai's multiple-choice scorer does), and
the first rule that recognises an answer, or recognises that the reply is not one clean
answer, decides:

=================  ======================================================================
rule               what it recognises
=================  ======================================================================
``lone_letter``    the whole reply is one letter: ``B``, ``b.``, ``(B)``, ``**B**``, ``Option B``
``json``           a JSON object with an answer/letter/choice key (fenced or bare)
``json_like``      a broken JSON object whose answer key still reads clearly
``answer_line``    ``Answer: B``, ``Final answer: C``, ``Antwort: B``, ``答案：A``, ``Ответ: B``
``leading_letter`` the reply opens with a letter label (``B.``, ``**C**``) and then explains
``letter_with_text`` a letter with its own option text: ``C) Relief``, ``the answer is C (relief)``
``option_text``    an option's exact text, alone (``Relief.``) or as the object of a decision
``answer_phrase``  a decision phrase with a letter: ``The answer is (B).``, ``I'd choose C``
``final_line``     a short last line naming one letter: ``So, C.``
``bold_letter``,   the only letter marked up in the reply (``**C**``, ``(C)``, ``Option C``)
``paren_letter``,
``option_letter``
``option_mention`` the only option text the reply mentions (not negated)
=================  ======================================================================

Unparseable replies carry the reason as the rule: ``multiple`` (two or more different
options given as the answer), ``out_of_range`` (a letter past the shown options),
``contradiction`` (a letter with another option's text), ``json_number`` (a bare number,
which could count from 0 or 1) and ``no_answer``. ``refusal``, ``empty`` and ``error``
name their own statuses. Nothing here guesses: when two readings are possible the reply
is unparseable, so that "no answer" stays apart from "wrong answer".
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

STATUSES = ("answered", "unparseable", "refused", "empty", "error")
PROTOCOLS = ("standard", "reasoning", "json")


@dataclass(frozen=True)
class ParseResult:
    status: str  # one of STATUSES
    position: int | None  # 0-based index into the shown options when answered, else None
    rule: str | None  # name of the rule that decided (see the module docstring)


# A choice read from a fragment of text: (kind, position). Kinds "letter", "letter_text"
# and "text" are answers; the others are reasons the fragment is not one clean answer.
_Choice = tuple[str, int | None]
_ANSWER_KINDS = ("letter", "letter_text", "text")

_OPEN = "([(\\[*_`\"'“‘]*)"
_CLOSE = "([)\\]*_`\"'”’]*)"
# A letter at the head of a fragment, with the markdown or brackets models put around it.
_HEAD_LETTER = re.compile(
    rf"(?P<pre>{_OPEN})(?P<word>(?:option|choice|letter)\s*)?(?P<open>{_OPEN})(?P<letter>[A-Za-z])(?P<close>{_CLOSE})"
    r"(?![A-Za-z0-9]|['’][A-Za-z])",
    re.I,
)
# After a bare capital "A" or "I" (the article, the pronoun) these words still show a letter.
_AFTER_LETTER_WORDS = frozenset(
    "is seems appears would fits best because as since and or was looks sounds describes matches captures "
    "reflects makes works feels fit seem".split()
)
# Phrases in front of a choice that do not change it ("Answer: I think B", "either B or D").
_HEDGE = re.compile(
    r"^(?:\s*(?:i\s+(?:think|believe|guess|would\s+say|'d\s+say|say|would\s+(?:choose|pick|select|go\s+with)"
    r"|'d\s+(?:choose|pick|select|go\s+with)|choose|pick|select|go\s+with)|it(?:'s|\s+is|\s+would\s+be)"
    r"|that(?:'s|\s+is|\s+would\s+be)|this\s+is|probably|likely|most\s+likely|definitely|clearly|either|both|maybe"
    r"|perhaps|possibly"
    r"|(?:the\s+)?answer\s+is|is|be)\b[\s,:]*)+",
    re.I,
)
# Words between a decision and the option text: "a feeling of relief", "to talk to the manager".
_FILLER = re.compile(
    r"^(?:\s*(?:(?:a|an|the|to|some|mostly|mainly|primarily|deep|great|strong|intense|overwhelming|profound"
    r"|genuine|real)\s+|(?:feelings?|sense|state|mix|mixture|combination)\s+of\s+|[\"'“‘*_`(]+))*",
    re.I,
)
# What joins a second choice to the first: "A or C", "relief and guilt", "B/D".
_JOIN = re.compile(
    r"\s*[)\]*_`\"'”’]*\s*(?:,|/|&|\+|\band/or\b|\bor\b|\band\b|\bas\s+well\s+as\b|\bplus\b)\s*"
    r"(?:also\s+|maybe\s+|possibly\s+|perhaps\s+|even\s+|option\s+|choice\s+)?",
    re.I,
)
# What a complete choice may be followed by when the phrase before it is weak ("I think C.").
_CLEAN_TAIL = re.compile(r"\s*(?:$|[.!,;:)\]*_`\"'”’(—–-]|because\b|since\b|as\b|over\b|rather\b|instead\b|here\b)", re.I)
_UNWRAP = re.compile(r"\\(?:boxed|text|textbf|mathbf|mathrm)\{([^{}]*)\}")

_LONE = re.compile(
    r"[\s*_`\"'“‘(\[{]*(?:(?:option|choice|letter)\s*[:\-]?\s*|answer\s+)?[*_`\"'“‘(\[]*([A-Za-z])[*_`\"'”’)\]}]*"
    r"[\s.!,;:*_`\"'”’)\]}]*",
    re.I,
)
_ANSWER_LINE = re.compile(
    r"(?:(?<![A-Za-zА-я])(?:(?:my\s+|the\s+)?(?P<final>final|endgültige|finale?|окончательный)\s+)?"
    r"(?:answer|antwort|réponse|respuesta|resposta|risposta|ответ)(?:\s+(?P<final2>finale?))?"
    r"|(?P<final3>最终|最終)?(?:答案|回答|答え))"
    r"[\s*_\"'`]*[:：][\s*_]*(?P<value>[^\n]*)",
    re.I,
)
# Phrases after which the answer follows: "the answer is", "I'd choose", "the best response is".
_DECISIONS = [
    re.compile(p, re.I)
    for p in (
        r"\b(?:the\s+|my\s+)?(?P<final>final\s+)?(?:correct\s+|right\s+|best\s+)?(?:answer|choice|pick|selection)"
        r"\s+(?:here\s+|then\s+)?(?:is|would\s+be|will\s+be|should\s+be|=)\s*:?\s*",
        r"\bI(?:'d|\s+would|\s+will|'ll)?\s+(?:\w+ly\s+)?(?:choose|pick|select|go\s+with|opt\s+for|guess|say)\b\s*:?\s*",
        r"\b(?:the\s+)?(?:most\s+(?:likely|appropriate|effective|fitting|suitable|helpful|reasonable|probable|plausible"
        r"|accurate|constructive|sensible)|best|correct|right|ideal|optimal)\s+(?:\w+\s+){0,5}?"
        r"(?:is|would\s+be|seems\s+to\s+be)\s*:?\s*",
        r"答案[是为]",
    )
]
# "She would feel relief" answers an emotion item, but "some people would feel relief" and
# "she might feel anger" only speculate, so these phrases also pass the _SPECULATIVE guard.
_FEELS = re.compile(
    r"\b(?:would|will|'d|to)\s+(?:(?:most\s+)?\w+ly\s+)?(?:feel|experience)\s+(?:most\s+)?"
    r"|\b(?:feels|experiences)\s+(?:\w+ly\s+)?",
    re.I,
)
_SPECULATIVE = re.compile(r"\b(?:some|others|many|might|could|may|can|perhaps|maybe)\b[^,;.:]*$", re.I)
# "I think C." is a decision only when the choice ends the clause; "I think A could fit" is not.
_WEAK_DECISION = re.compile(r"\bI\s+(?:think|believe)\s+(?:it(?:'s|\s+is)\s+)?", re.I)
# "C is the best", "Relief seems most likely": the choice comes before the verdict.
_VERDICT_AFTER = re.compile(
    r"\s*(?:is|seems|appears|would\s+be|sounds|fits)\s+(?:to\s+be\s+)?(?:the\s+)?(?:most\s+|clearly\s+|definitely\s+)?"
    r"(?:best|correct|right|likely|appropriate|reasonable|effective|fitting|suitable|plausible|sensible|ideal"
    r"|optimal|accurate|answer)\b",
    re.I,
)
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno)\s+(?:\w+\s+){0,2}$|\bif\b[^,;.:]*$", re.I)
_REVISION = re.compile(
    r"\b(?:actually|wait|on\s+second\s+thought|on\s+reflection|correction|reconsider\w*|change\s+my\s+answer)\b", re.I
)
_NEGATION_WORDS = re.compile(r"\b(?:not|no|never|wrong|incorrect|unlikely|rule\s+out|eliminate\w*|except)\b|n't", re.I)
_LABEL_LINE = re.compile(r"\s*(?:[-•]\s+|#+\s*)?[*_(\[]*([A-Za-z])[*_]*[).:\]]", re.I)
_MARKED = re.compile(
    r"(?P<bold>\*\*\s*\(?([A-Za-z])\)?\s*[).:]?\s*\*\*|\*\*([A-Za-z])[).:]|(?<![*\w])[*_`]([A-Za-z])[*_`](?![*\w]))"
    r"|(?P<paren>(?<![\w(])[(\[]([A-Za-z])[)\]])"
    r"|(?P<option>\b(?:option|choice)\s+([A-Z])\b)",
)
_BARE_CAPITAL = re.compile(r"(?<![\w'’.\-])([A-Z])(?![\w'’\-]|\.\w)")
_JSON_KEYS = ("final_answer", "answer", "letter", "choice", "option", "selected_option", "selection", "selected")
_JSON_LIKE = re.compile(
    r"[\"']?\b(final_answer|answer|letter|choice|selected_option|selection)[\"']?\s*[:=]\s*[\"']?([^\"'\n,}]*)", re.I
)
_NOT_APPLICABLE = re.compile(r"\W*n/?a\W*", re.I)
_FENCE = re.compile(r"```[A-Za-z]*\s*(.*?)(?:```|$)", re.S)
_THINK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.S | re.I)
_REFUSAL = re.compile(
    r"\bas\s+an\s+(?:ai|a\.i\.|artificial\s+intelligence|language\s+model|llm)\b"
    r"|\bI\s*(?:can\s*not|can't|am\s+unable\s+to|'m\s+unable\s+to|am\s+not\s+able\s+to|'m\s+not\s+able\s+to|won't"
    r"|will\s+not|don't|do\s+not|would\s+rather\s+not|'d\s+rather\s+not|prefer\s+not\s+to|decline\s+to|refuse\s+to)"
    r"\s+(?:really\s+|reliably\s+|accurately\s+|definitively\s+|personally\s+|actually\s+)?(?:determine|choose|pick"
    r"|select|answer|provide|say|know|decide|make|give|tell|comply|guess|speculate|judge|assess|predict|feel"
    r"|experience|have\s+(?:personal\s+)?(?:feelings|emotions|opinions|preferences))\b"
    r"|\bI\s+(?:must|have\s+to)\s+decline\b|\bI(?:'m|\s+am)\s+sorry\b|\bit\s+depends\b"
    r"|\b(?:not\s+enough|insufficient)\s+(?:information|context|detail)"
    r"|\b(?:impossible|not\s+possible|difficult|hard)\s+to\s+(?:determine|say|know|tell)\b"
    r"|\bcannot\s+be\s+determined\b|\bno\s+(?:single\s+)?(?:correct|right|definitive)\s+answer\b"
    r"|\bnone\s+of\s+the\s+(?:options|above|answers|choices)\b"
    r"|\bje\s+ne\s+(?:peux|saurais)\s+pas\b|\bno\s+puedo\b|\bich\s+kann\s+(?:nicht|keine)\b|无法|不能确定|я\s+не\s+могу",
    re.I,
)


@dataclass(frozen=True)
class _Ctx:
    n: int
    protocol: str
    option_res: tuple[re.Pattern[str], ...]


@lru_cache(maxsize=512)
def _option_patterns(options: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    # Match an option's words in order with any punctuation between them, so "talk to the
    # manager, about the schedule" and "TALK TO THE MANAGER ABOUT THE SCHEDULE." both count.
    patterns = []
    for text in options:
        words = re.findall(r"\w+(?:'\w+)?", _normalize(text).lower())
        body = r"[\W_]+".join(re.escape(w) for w in words) if words else re.escape(text.strip())
        patterns.append(re.compile(rf"(?<!\w){body}(?!\w)", re.I))
    return tuple(patterns)


def _normalize(text: str) -> str:
    # NFKC folds full-width letters and colons ("Ｂ", "：") to ASCII; curly apostrophes and
    # zero-width characters would otherwise break the word patterns.
    text = unicodedata.normalize("NFKC", text)
    return re.sub("[\u200b\u200c\u200d\ufeff]", "", text).replace("’", "'").replace("‘", "'")


def _option_at(s: str, ctx: _Ctx) -> tuple[int, int] | None:
    """(position, end) of the option whose text opens ``s``; the longest wins."""
    hits = [(m.end(), k) for k, p in enumerate(ctx.option_res) if (m := p.match(s))]
    if not hits:
        return None
    end, k = max(hits)
    if sum(1 for e, _ in hits if e == end) > 1:
        return None  # two options with the same text cannot be told apart
    return k, end


def _head_letter(s: str, ctx: _Ctx, *, require_mark: bool = False) -> tuple[str, int | None, str] | None:
    """A letter opening ``s``: (kind, position, rest), or None when the opening is a word."""
    m = _HEAD_LETTER.match(s)
    if not m:
        return None
    letter, after = m.group("letter"), s[m.end() :]
    opening, closing = m.group("pre") + m.group("open"), m.group("close")
    marked = bool(m.group("word") or re.search(r"[(\[*_`]", opening) or re.search(r"[)\]*_`]", closing))
    delimited = not after.strip() or bool(re.match(r"\s*(?:[.:;,!?/)\]]|[-–—(]|\n)", after))
    if re.match(r"\.\w", after):  # "A.I.", "U.S."
        return None
    if not marked and not delimited:
        word = re.match(r"\s+([A-Za-z]+)", after)
        if require_mark or letter.islower() or (letter in "AI" and word and word.group(1) not in _AFTER_LETTER_WORDS):
            return None  # "a feeling of relief", "I think": an article or a pronoun, not an option
    pos = ord(letter.upper()) - ord("A")
    if pos >= ctx.n:
        if letter.upper() == "I" and not marked:
            return None
        return "out_of_range", None, after
    rest = re.sub(r"^[\s.:;,)\]*_`\-–—(\"']*", "", after)
    text = _option_at(rest, ctx)
    if text is None:
        return "letter", pos, after
    if text[0] != pos:
        return "contradiction", None, after
    return "letter_text", pos, rest[text[1] :]


def _head_choice(s: str, ctx: _Ctx) -> tuple[str, int | None, str] | None:
    got = _head_letter(s, ctx)
    if got is not None:
        return got
    stripped = _FILLER.sub("", s, count=1)
    text = _option_at(stripped, ctx)
    if text is None:
        return None
    rest = stripped[text[1] :]
    # "Relief (B)": the letter after the text must agree with it.
    label = re.match(r"\s*[(\[]([A-Za-z])[)\]]", rest)
    if label:
        pos = ord(label.group(1).upper()) - ord("A")
        return ("letter_text", text[0], rest[label.end() :]) if pos == text[0] else ("contradiction", None, rest)
    return "text", text[0], rest


def _read_choice(fragment: str, ctx: _Ctx, *, clean_tail: bool = False) -> _Choice | None:
    """What a fragment that stands where an answer goes names: one option, several, or nothing."""
    s = _UNWRAP.sub(r"\1", fragment).replace("$", "")
    s = re.sub(r"^([\s#>]*)([*_`]*)\s*", r"\2", s)
    s = _HEDGE.sub("", s.strip(), count=1)
    first = _head_choice(s, ctx)
    if first is None:
        return None
    kind, pos, rest = first
    if kind not in _ANSWER_KINDS:
        return kind, None
    join = _JOIN.match(rest)
    if join:
        second = _head_choice(rest[join.end() :], ctx)
        if second is not None and second[1] != pos:
            return "multiple", None
    if clean_tail and not _CLEAN_TAIL.match(rest):
        return None
    return kind, pos


def _combine(found: list[tuple[int, bool, _Choice]], text: str, ctx: _Ctx) -> _Choice | None:
    """One verdict from several places that each state an answer.

    A "final answer" outranks other statements; in a reasoning trace the last statement is
    the conclusion; otherwise statements must agree, unless the reply visibly revises itself.
    """
    if not found:
        return None
    if any(final for _, final, _ in found):
        found = [f for f in found if f[1]]
    if ctx.protocol == "reasoning":
        return found[-1][2]
    outcomes = {c if c[0] not in _ANSWER_KINDS else ("answer", c[1]) for _, _, c in found}
    if len(outcomes) == 1:
        return found[0][2]
    last_at, _, last = found[-1]
    earlier = [at for at, _, c in found if c[1] != last[1] or c[0] != last[0]]
    if last[0] in _ANSWER_KINDS and earlier and _REVISION.search(text[max(earlier) : last_at]):
        return last
    return "multiple", None


def _result(choice: _Choice, rule: str, *, named_forms: bool = False) -> ParseResult:
    kind, pos = choice
    if kind not in _ANSWER_KINDS:
        return ParseResult("unparseable", None, kind)
    if named_forms and kind == "letter_text":
        rule = "letter_with_text"
    elif named_forms and kind == "text":
        rule = "option_text"
    return ParseResult("answered", pos, rule)


# --------------------------------------------------------------------------- strict rules


def _lone_letter(text: str, ctx: _Ctx) -> ParseResult | None:
    m = _LONE.fullmatch(_UNWRAP.sub(r"\1", text).replace("$", ""))
    if not m:
        return None
    pos = ord(m.group(1).upper()) - ord("A")
    return ParseResult("answered", pos, "lone_letter") if pos < ctx.n else ParseResult("unparseable", None, "out_of_range")


def _answer_lines(text: str, ctx: _Ctx) -> ParseResult | None:
    found: list[tuple[int, bool, _Choice]] = []
    for m in _ANSWER_LINE.finditer(text):
        value = m.group("value")
        if not value.strip(" *_`"):  # "**Answer:**" with the letter on the next line
            nxt = re.match(r"[^\n]*\n\s*([^\n]+)", text[m.end() :])
            value = nxt.group(1) if nxt else ""
        choice = _read_choice(value, ctx)
        if choice is not None:
            final = bool(m.group("final") or m.group("final2") or m.group("final3"))
            found.append((m.start(), final, choice))
    choice = _combine(found, text, ctx)
    return None if choice is None else _result(choice, "answer_line")


def _json_values(obj: object) -> list[object]:
    if isinstance(obj, dict):
        keyed = {str(k).lower(): v for k, v in obj.items()}
        values = [keyed[k] for k in _JSON_KEYS if k in keyed]
        if values:
            return values[:1] if "final_answer" in keyed else values
        return [v for inner in obj.values() if isinstance(inner, dict) for v in _json_values(inner)]
    return []


def _json_choice(value: object, ctx: _Ctx) -> _Choice | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return "json_number", None  # 0-based or 1-based? Only the model knows.
    if isinstance(value, list):
        choices = {c for v in value if (c := _json_choice(v, ctx)) is not None}
        if len(choices) > 1:
            return "multiple", None
        return next(iter(choices), None)
    return _read_choice(str(value), ctx) if isinstance(value, str) else None


def _json(text: str, ctx: _Ctx) -> ParseResult | None:
    if "{" not in text:
        return None
    blocks = [m.group(1) for m in _FENCE.finditer(text)] or [text]
    decoder = json.JSONDecoder()
    found: list[tuple[int, bool, _Choice]] = []
    saw_key = False
    for block in blocks:
        start = block.find("{")
        while start != -1:
            try:
                obj, end = decoder.raw_decode(block, start)
            except ValueError:
                start = block.find("{", start + 1)
                continue
            values = _json_values(obj)
            saw_key = saw_key or bool(values)
            for value in values:
                choice = _json_choice(value, ctx)
                if choice is not None:
                    found.append((start, False, choice))
            start = block.find("{", end)
    if found:
        return _result(_combine(found, text, ctx) or ("no_answer", None), "json")
    if saw_key:
        return None  # {"answer": null, ...}: valid JSON that declines; refusal may still apply
    # Truncated or hand-written JSON ('{answer: "B"', single quotes): read the key's value.
    found = [(m.start(), False, c) for m in _JSON_LIKE.finditer(text) if (c := _read_choice(m.group(2), ctx))]
    choice = _combine(found, text, ctx)
    return None if choice is None else _result(choice, "json_like")


# --------------------------------------------------------------------------- lenient rules


def _label_letter(line: str) -> str | None:
    m = _LABEL_LINE.match(line)
    return m.group(1).upper() if m else None


def _drop_echoed_options(lines: list[str], ctx: _Ctx) -> list[str]:
    # A reply that repeats the option list ("A) Anger", "B) Relief", ...) has not chosen by
    # writing those lines; two or more plain echoes in the right slots mark a quoted list.
    echoed = []
    for i, line in enumerate(lines):
        m = re.fullmatch(r"\s*(?:[-•]\s+)?\(?([A-Za-z])[).:]\s*(.+?)\s*", line)
        if m and "*" not in line:
            pos = ord(m.group(1).upper()) - ord("A")
            if pos < ctx.n and ctx.option_res[pos].fullmatch(m.group(2).rstrip(".")):
                echoed.append(i)
    if len(echoed) < 2:
        return lines
    return [line for i, line in enumerate(lines) if i not in echoed]


def _leading(lines: list[str], ctx: _Ctx) -> ParseResult | None:
    first = lines[0].strip()
    first = re.sub(r"^(?:[-•>]\s+|#+\s*)", "", first)
    got = _head_letter(first, ctx)
    # Only a label opens an answer ("B.", "(C) Gratitude", "**D**\n"); "A is unlikely" and
    # "Option A is tempting" open a comment on an option, which _decisions reads instead.
    label = re.match(r"\s*(?:option\s+|choice\s+)?[(\[*_`\"']*[A-Za-z][*_`\"']*(?:[)\].:;,!?/\-–—]|$|\s+[-–—(]|\s+(?:because|since)\b)",
                     first, re.I)
    if got is None or label is None:
        return None
    if got[0] not in _ANSWER_KINDS:
        return ParseResult("unparseable", None, got[0])
    kind, pos, rest = got
    if _read_choice(first, ctx) == ("multiple", None):  # "A or C", "B and D"
        return ParseResult("unparseable", None, "multiple")
    # "A) Anger is unlikely ... C) Relief fits" walks through the options; the first label
    # is then not the answer. A line that holds only the answer is decisive regardless.
    only_answer = not re.sub(r"[\s.!*_`)\]]", "", rest)
    body = "\n".join(lines)
    others = {_label_letter(line) for line in lines[1:]} | {m.upper() for m in _marked_letters(body)}
    others |= {m.group(1) for m in re.finditer(r"(?<![\w(])([A-Z])\)", body)}
    others.discard(None)
    if not only_answer and others - {chr(ord("A") + pos)}:
        return None
    return _result((kind, pos), "leading_letter", named_forms=True)


def _decisions(body: str, ctx: _Ctx) -> ParseResult | None:
    found: list[tuple[int, bool, _Choice]] = []
    for pattern in (*_DECISIONS, _FEELS):
        for m in pattern.finditer(body):
            before = body[max(0, m.start() - 40) : m.start()]
            if _NEGATED.search(before) or pattern is _FEELS and _SPECULATIVE.search(before):
                continue
            fragment = body[m.end() :].split("\n", 1)[0]
            choice = _read_choice(fragment, ctx)
            if choice is not None:
                final = bool("final" in m.groupdict() and m.group("final"))
                found.append((m.start(), final, choice))
    for m in _WEAK_DECISION.finditer(body):
        choice = _read_choice(body[m.end() :].split("\n", 1)[0], ctx, clean_tail=True)
        if choice is not None and not _NEGATED.search(body[max(0, m.start() - 40) : m.start()]):
            found.append((m.start(), False, choice))
    for m in _VERDICT_AFTER.finditer(body):
        choice = _choice_before(body[: m.start()], ctx)
        if choice is not None and not _NEGATED.search(body[max(0, m.start() - 40) : m.start()]):
            found.append((m.start(), False, choice))
    found.sort(key=lambda f: f[0])
    choice = _combine(found, body, ctx)
    if choice is None:
        return None
    return _result(choice, "answer_phrase", named_forms=True)


def _choice_before(before: str, ctx: _Ctx) -> _Choice | None:
    """The choice that ends ``before``: "Option C", "**C**", "C) Relief", "Relief"."""
    line = before.rsplit("\n", 1)[-1].rstrip(" *_`\"'")
    for k, p in enumerate(ctx.option_res):
        m = None
        for m in p.finditer(line):
            pass
        if m is not None and m.end() == len(line):
            label = re.search(r"(?<![A-Za-z])([A-Za-z])[).:]?\s*[*_`]*\s*[(\[]?$", line[: m.start()])
            if label and label.group(1).isupper():
                pos = ord(label.group(1)) - ord("A")
                return ("letter_text", k) if pos == k else ("contradiction", None)
            return "text", k
    m = re.search(r"(?:(?:option|choice)\s+|(?<![\w'’.\-]))[(\[*`]*([A-Za-z])[)\]*`]*$", line, re.I)
    if not m or (m.group(1).islower() and not re.search(r"option|choice|[(\[*`]", m.group(0), re.I)):
        return None
    pos = ord(m.group(1).upper()) - ord("A")
    if pos >= ctx.n:
        return None if m.group(1).upper() == "I" else ("out_of_range", None)
    return "letter", pos


def _final_line(lines: list[str], ctx: _Ctx) -> ParseResult | None:
    last = re.sub(r"^(?:[-•>]\s+|#+\s*)", "", lines[-1].strip())
    last = re.sub(r"^(?:so|thus|therefore|hence|overall|in\s+short|in\s+conclusion|=>|→)\b[\s,:]*", "", last, flags=re.I)
    if len(last.split()) > 8:
        return None
    # "I'm not sure. Maybe B or C?": the line's last sentence may hold the choice.
    for part in dict.fromkeys((last, re.split(r"(?<=[.!?])\s+(?=\S)", last)[-1])):
        choice = _read_choice(part, ctx, clean_tail=True)
        if choice is not None:
            return _result(choice, "final_line", named_forms=True)
    if _NEGATION_WORDS.search(last):
        return None
    letters = {pos for pos in _letters_in(last, ctx)}
    return ParseResult("answered", letters.pop(), "final_line") if len(letters) == 1 else None


def _letters_in(text: str, ctx: _Ctx) -> list[int]:
    marked = [ord(x.upper()) - ord("A") for x in _marked_letters(text)]
    bare = [ord(m.group(1)) - ord("A") for m in _BARE_CAPITAL.finditer(text) if _bare_is_letter(text, m)]
    return [p for p in marked + bare if p < ctx.n]


def _bare_is_letter(text: str, m: re.Match[str]) -> bool:
    if m.group(1) not in "AI":
        return True
    word = re.match(r"\s+([a-z]+)", text[m.end() :])
    return word is None or word.group(1) in _AFTER_LETTER_WORDS


def _marked_letters(text: str) -> list[str]:
    return [next(g for g in m.groups()[1:] if g and len(g) == 1) for m in _MARKED.finditer(text)]


def _mentions(body: str, ctx: _Ctx) -> ParseResult:
    # Last resort: what the reply marks up or names. One option -> that option; several -> no decision.
    marked: dict[int, str] = {}
    for m in _MARKED.finditer(body):
        letter = next(g for g in m.groups()[1:] if g and len(g) == 1)
        pos = ord(letter.upper()) - ord("A")
        if pos < ctx.n:
            marked.setdefault(pos, m.lastgroup or "bold")
    short = len(body.split()) <= 60  # in a long discussion a lone mention is not a decision
    if len(marked) == 1 and short:
        pos, form = next(iter(marked.items()))
        return ParseResult("answered", pos, f"{form}_letter")
    if len(marked) > 1:
        return ParseResult("unparseable", None, "multiple")
    # "Probably relief, though some guilt" names relief; "she might feel anger, or she might
    # feel sadness" names two candidates and settles on neither.
    named: set[int] = set()
    floated: set[int] = set()
    for k, p in enumerate(ctx.option_res):
        for m in p.finditer(body):
            before = body[max(0, m.start() - 40) : m.start()]
            if not _NEGATED.search(before):
                (floated if _SPECULATIVE.search(before) else named).add(k)
    if len(named) == 1 and short:
        return ParseResult("answered", named.pop(), "option_mention")
    if len(named | floated) > 1:
        return ParseResult("unparseable", None, "multiple")
    return ParseResult("unparseable", None, "no_answer")


# --------------------------------------------------------------------------- entry point


def parse_reply(
    reply: str | None, options: Sequence[str], *, protocol: str = "standard", error: str | None = None
) -> ParseResult:
    """Read which shown option a reply chose.

    ``options`` are the option texts in shown order (letters A, B, ... by position);
    ``error`` is the client's error message when the call failed, which decides alone.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if isinstance(options, str) or not 2 <= len(options) <= 26:
        raise ValueError("options must be a sequence of 2 to 26 option texts, in shown order")
    if error is not None:
        return ParseResult("error", None, "error")
    if reply is None or not reply.strip():
        return ParseResult("empty", None, "empty")
    ctx = _Ctx(len(options), protocol, _option_patterns(tuple(options)))
    text = _normalize(reply)
    # A reasoning model's <think> block is deliberation; the reply proper follows it.
    after_think = _THINK.sub("", text).strip()
    text = (after_think or text).strip()
    # An unclosed <think> means the reply was cut off mid-thought: only an explicit answer
    # line inside it counts, not what the deliberation happened to lean towards.
    truncated = re.search(r"<think(?:ing)?>", text, re.I) is not None and not re.search(r"</think", text, re.I)

    if (got := _lone_letter(text, ctx)) is not None:
        return got
    # JSON first when it is the protocol or the reply's shape, so that an "answer:" inside a
    # JSON string is read as part of the object rather than as an answer line.
    looks_json = protocol == "json" or text.startswith(("{", "```"))
    strict = (_json, _answer_lines) if looks_json else (_answer_lines, _json)
    for rule in strict:
        if (got := rule(text, ctx)) is not None:
            return got
    if truncated:
        return ParseResult("unparseable", None, "no_answer")

    lines = _drop_echoed_options([line for line in text.splitlines() if line.strip()], ctx)
    if not lines:
        return ParseResult("unparseable", None, "no_answer")
    body = "\n".join(lines)
    if _NOT_APPLICABLE.fullmatch(body):  # "N/A" declines; it is not option N
        return ParseResult("refused", None, "refusal")
    whole = re.sub(r"^[\W_]+|[\W_]+$", "", body)
    for k, p in enumerate(ctx.option_res):
        if p.fullmatch(whole):
            return ParseResult("answered", k, "option_text")
    for rule in (_leading, lambda ls, c: _decisions("\n".join(ls), c), _final_line):
        if (got := rule(lines, ctx)) is not None:
            return got
    if _REFUSAL.search(body):
        return ParseResult("refused", None, "refusal")
    return _mentions(body, ctx)
