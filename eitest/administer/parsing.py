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
as the answer), ``out_of_range`` (a letter past the shown options), ``contradiction`` (a
letter with another option's text), ``json_number`` (a number, which may count from 0 or
1) and ``no_answer``. A refusal without an answer is ``refused``. Nothing here guesses:
a reply that can be read two ways is unparseable, so "no answer" stays apart from "wrong".
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from eitest.vocabulary import ProtocolName, Status

STATUSES: tuple[Status, ...] = tuple(Status)


@dataclass(frozen=True)
class ParseResult:
    """What a reply chose (``position``), or why it chose nothing usable (``status``, ``rule``)."""

    status: Status
    position: int | None  # 0-based index into the shown options when answered, else None
    rule: str | None  # name of the rule that decided (see the module docstring)


# A choice read from a piece of text: (kind, position). "letter", "letter_text" and "text"
# are answers; any other kind ("multiple", "contradiction", ...) is why it is not one.
_Choice = tuple[str, int | None]
_Found = list[tuple[int, bool, _Choice]]  # (offset in the text, stated as final?, choice)
_ANSWER_KINDS = ("letter", "letter_text", "text")
# How far past (or before) a decision phrase to read. An answer is a letter or an option
# text, never pages long, and the bound keeps pathological replies linear.
_WINDOW = 200

# --------------------------------------------------------------------------- patterns
_OPEN, _CLOSE = "[(\\[*_`\"'“‘]*", "[)\\]*_`\"'”’]*"
_HEAD_LETTER = re.compile(
    rf"(?P<pre>{_OPEN})(?P<word>(?:option|choice|letter)\s*)?(?P<open>{_OPEN})(?P<letter>[A-Za-z])(?P<close>{_CLOSE})"
    r"(?![A-Za-z0-9]|'[A-Za-z])",
    re.I,
)
_LONE = re.compile(
    rf"{_OPEN}\s*(?:(?:option|choice|letter)\s*[:\-]?\s*|answer\s+)?{_OPEN}([A-Za-z])[\s.!,;:*_`\"'”’)\]}}]*", re.I
)
# After a bare capital "A" or "I" (the article, the pronoun) only these words show a letter.
_AFTER_LETTER_WORDS = frozenset(
    "is seems appears would fits fit best because as since and or was looks sounds describes matches captures "
    "reflects makes works feels".split()
)
# Words in front of a choice that do not change it ("Answer: I think B", "either B or D").
_HEDGE = re.compile(
    r"^(?:\s*(?:i\s+(?:think|believe|guess|(?:would|'d)\s+say|say|(?:(?:would|'d)\s+)?(?:choose|pick|select|go\s+with))"
    r"|it(?:'s|\s+is|\s+would\s+be)|that(?:'s|\s+is|\s+would\s+be)|this\s+is|(?:most\s+)?likely|probably|definitely"
    r"|clearly|either|both|maybe|perhaps|possibly|(?:the\s+)?answer\s+is|is|be)\b[\s,:]*)+",
    re.I,
)
# Words between a decision and an option's text: "a feeling of relief", "to talk to the manager".
_FILLER = re.compile(
    r"^(?:\s*(?:(?:a|an|the|to|some|mostly|mainly|primarily|deep|great|strong|intense|overwhelming|profound|genuine"
    r"|real)\s+|(?:feelings?|sense|state|mix|mixture|combination)\s+of\s+|[\"'“*_`(]+))*",
    re.I,
)
# What joins a second choice to the first: "A or C", "relief and guilt", "B/D", "B (or maybe C)".
_JOIN = re.compile(
    r"\s*[)\]*_`\"'”’]*\s*\(?\s*(?:,|/|&|\+|\band/or\b|\bor\b|\band\b|\bas\s+well\s+as\b|\bplus\b)(?:\s*\b(?:or|and)\b)?"
    r"\s*(?:also\s+|maybe\s+|possibly\s+|perhaps\s+|even\s+|option\s+|choice\s+)?",
    re.I,
)
# What may follow an option's text for the text to belong to the letter before it.
_TEXT_END = re.compile(r"\s*(?:$|[\n.,;:!?)\]*_\-–—(]|because\b|since\b|as\b)", re.I)
# What may follow a choice when the phrase before it is weak ("I think C." but not "I think A could").
_CLEAN_TAIL = re.compile(r"\s*(?:$|[.!,;:)\]*_`\"'”’(—–-]|(?:because|since|as|over|rather|instead|here)\b)", re.I)
_UNWRAP = re.compile(r"\\(?:boxed|text|textbf|mathbf|mathrm)\{([^{}]*)\}")
_ANSWER_LINE = re.compile(
    r"(?:(?<![A-Za-zА-я])(?:(?:my\s+|the\s+)?(?P<final>final|endgültige|finale?|окончательный)\s+)?"
    r"(?:answer|antwort|réponse|respuesta|resposta|risposta|ответ)(?:\s+(?P<final2>finale?))?"
    r"|(?P<final3>最终|最終)?(?:答案|回答|答え))[\s*_\"'`]*[:：][\s*_]*(?P<value>[^\n]*)",
    re.I,
)
_QA_ANSWER = re.compile(r"^\s*A\s*:\s*(?P<value>[^\n]*)", re.M)  # "Q: ...\nA: Relief" is question and answer
# Phrases after which the answer follows: "the answer is", "I'd choose", "the best response is".
_DECISIONS = [
    re.compile(p, re.I)
    for p in (
        r"\b(?:the\s+|my\s+)?(?P<final>final\s+)?(?:correct\s+|right\s+|best\s+)?(?:answer|choice|pick|selection)"
        r"\s+(?:here\s+|then\s+)?(?:is|would\s+be|will\s+be|should\s+be|=)\s*:?\s*",
        r"\bI(?:'d|\s+would|\s+will|'ll)?\s+(?:\w+ly\s+)?(?:choose|pick|select|go\s+with|opt\s+for|guess|say|lean\s+towards?)\b\s*:?\s*",
        r"\bif\s+I\s+(?:had|have|were)\s+to\s+(?:choose|pick|guess|answer)\s*[,:]\s*",
        r"\b(?:the\s+)?(?:most\s+(?:likely|appropriate|effective|fitting|suitable|helpful|reasonable|probable|plausible"
        r"|accurate|constructive|sensible)|best|correct|right|ideal|optimal)\s+(?:\w+\s+){0,5}?"
        r"(?:is|would\s+be|seems\s+to\s+be)\s*:?\s*",
        r"\b(?:the|her|his|their)\s+(?:main\s+|primary\s+|dominant\s+)?(?:emotion|feeling|reaction)\s+(?:here\s+)?"
        r"(?:is|would\s+be|will\s+be)\s*:?\s*",
        r"答案[是为]",
    )
]
# "She would feel relief" answers an emotion item, but "some people would feel relief" and
# "she might feel anger" only speculate, so these must also pass the _SPECULATIVE guard.
_FEELS = re.compile(
    r"\b(?:would|will|'d|to)\s+(?:(?:most\s+)?\w+ly\s+)?(?:feel|experience)\s+(?:most\s+)?"
    r"|\b(?:feels|experiences)\s+(?:\w+ly\s+)?",
    re.I,
)
_WEAK_DECISION = re.compile(r"\bI\s+(?:think|believe)\s+(?:it(?:'s|\s+is)\s+)?", re.I)
# "C is the best", "Relief seems most likely": the choice comes before the verdict.
_VERDICT_AFTER = re.compile(
    r"\s*(?:is|seems|appears|would\s+be|sounds|fits)\s+(?:to\s+be\s+)?(?:the\s+)?(?:most\s+|clearly\s+|definitely\s+)?"
    r"(?:best|correct|right|likely|appropriate|reasonable|effective|fitting|suitable|plausible|sensible|ideal"
    r"|optimal|accurate|answer)\b",
    re.I,
)
# Guards on the 40 characters before a decision: negated, conditional, speculative.
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno)\s+(?:\w+\s+){0,2}$|\bif\b[^,;.:]*$", re.I)
_TENTATIVE = re.compile(r"^\s*or\b|\b(?:some|others|many|might|could|may|perhaps|maybe|possibly|if)\b", re.I)
_SPECULATIVE = re.compile(r"\b(?:some|others|many|might|could|may|can|perhaps|maybe)\b[^,;.:]*$", re.I)
_NEGATION_WORDS = re.compile(r"\b(?:not|no|never|wrong|incorrect|unlikely|rule\s+out|eliminate\w*|except)\b|n't", re.I)
_REVISION = re.compile(
    r"\b(?:actually|wait|on\s+second\s+thought|on\s+reflection|correction|reconsider\w*|change\s+my\s+answer)\b", re.I
)
_LABEL_LINE = re.compile(r"\s*(?:[-•]\s+|#+\s*)?[*_(\[]*([A-Za-z])[*_]*[).:\]]")
_LABEL_START = re.compile(
    r"\s*(?:option\s+|choice\s+)?[(\[*_`\"']*[A-Za-z][*_`\"']*"
    r"(?:[)\].:;,!?/\-–—]|$|\s+[-–—(]|\s+(?:because|since)\b)",
    re.I,
)
_MARKED = re.compile(
    r"(?P<bold>\*\*\s*\(?([A-Za-z])\)?\s*[).:]?\s*\*\*|\*\*([A-Za-z])[).:]|(?<![*\w])[*_`]([A-Za-z])[*_`](?![*\w]))"
    r"|(?P<paren>(?<![\w(])[(\[]([A-Za-z])[)\]])"
    r"|(?P<option>\b(?:option|choice)\s+([A-Z])\b)"
)
_BARE_CAPITAL = re.compile(r"(?<![\w'.\-])([A-Z])(?![\w'\-]|\.\w)")
_JSON_KEYS = ("final_answer", "answer", "letter", "choice", "option", "selected_option", "selection", "selected")
_JSON_LIKE = re.compile(
    r"[\"']?\b(final_answer|answer|letter|choice|selected_option|selection)[\"']?\s*[:=]\s*[\"']?([^\"'\n,}]*)", re.I
)
_FENCE = re.compile(r"```[A-Za-z]*\s*(.*?)(?:```|$)", re.S)
_THINK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.S | re.I)
_NOT_APPLICABLE = re.compile(r"\W*n/?a\W*", re.I)
_REFUSAL = re.compile(
    r"\bas\s+an?\s+(?:ai|a\.i\.|artificial\s+intelligence|language\s+model|llm)\b"
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


# --------------------------------------------------------------------------- reading one choice
@dataclass(frozen=True)
class _Ctx:
    n: int
    protocol: str
    option_res: tuple[re.Pattern[str], ...]


def _normalize(text: str) -> str:
    # NFKC folds full-width letters and colons ("Ｂ", "：") to ASCII; curly apostrophes and
    # zero-width characters would otherwise break the word patterns.
    text = unicodedata.normalize("NFKC", text)
    return re.sub("[\u200b\u200c\u200d\ufeff]", "", text).replace("’", "'").replace("‘", "'")


@lru_cache(maxsize=512)
def _option_patterns(options: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    # An option's words in order, any punctuation between them, so that "TALK TO THE MANAGER,
    # about the schedule!" still names "Talk to the manager about the schedule".
    patterns = []
    for text in options:
        words = re.findall(r"\w+(?:'\w+)?", _normalize(text).lower())
        body = r"[\W_]+".join(map(re.escape, words)) if words else re.escape(text.strip())
        patterns.append(re.compile(rf"(?<!\w){body}(?!\w)", re.I))
    return tuple(patterns)


def _position(letter: str) -> int:
    return ord(letter.upper()) - ord("A")


def _option_at(s: str, ctx: _Ctx) -> tuple[int, int] | None:
    """(position, end) of the option whose text opens ``s``; the longest match wins."""
    hits = [(m.end(), k) for k, p in enumerate(ctx.option_res) if (m := p.match(s))]
    if not hits or [e for e, _ in hits].count(max(hits)[0]) > 1:
        return None
    end, k = max(hits)
    return k, end


def _head_letter(s: str, ctx: _Ctx) -> tuple[str, int | None, str] | None:
    """A letter opening ``s``: (kind, position, rest), or None when the opening is a word."""
    m = _HEAD_LETTER.match(s)
    if not m or re.match(r"\.\w", s[m.end() :]):  # "A.I.", "U.S." are abbreviations
        return None
    letter, after, closing = m.group("letter"), s[m.end() :], m.group("close")
    marked = bool(
        m.group("word") or re.search(r"[(\[*_`]", m.group("pre") + m.group("open")) or re.search(r"[)\]*_`]", closing)
    )
    delimited = not after.strip() or bool(re.match(r"\s*(?:[.:;,!?/)\]]|[-–—(]|\n)", after))
    if not marked and not delimited:
        word = re.match(r"\s+([A-Za-z]+)", after)
        if letter.islower() or (letter in "AI" and word and word.group(1) not in _AFTER_LETTER_WORDS):
            return None  # "a feeling of relief", "I think": an article or a pronoun
    pos = _position(letter)
    if pos >= ctx.n:
        return None if letter.upper() == "I" and not marked else ("out_of_range", None, after)
    rest = re.sub(r"^[\s.:;,)\]*_`\-–—(\"']*", "", after)
    text = _option_at(rest, ctx)
    # The text belongs to the letter in "B) Guilt" and "B. Guilt, because ...", not in
    # "B. Anger would be wrong here", which comments on another option.
    if text is None or not (_TEXT_END.match(rest, text[1]) or re.search(r"[)\]]", closing)):
        return "letter", pos, after
    return ("letter_text", pos, rest[text[1] :]) if text[0] == pos else ("contradiction", None, after)


def _head_choice(s: str, ctx: _Ctx) -> tuple[str, int | None, str] | None:
    if (got := _head_letter(s, ctx)) is not None:
        return got
    s = _FILLER.sub("", s, count=1)
    if (text := _option_at(s, ctx)) is None:
        return None
    rest = s[text[1] :]
    label = re.match(r"\s*[(\[]([A-Za-z])[)\]]", rest)  # "Relief (B)": the letter must agree
    if label:
        agree = _position(label.group(1)) == text[0]
        return ("letter_text", text[0], rest[label.end() :]) if agree else ("contradiction", None, rest)
    return "text", text[0], rest


def _read_choice(fragment: str, ctx: _Ctx, *, clean_tail: bool = False) -> _Choice | None:
    """What a piece of text standing where an answer goes names: one option, several, or nothing."""
    s = _UNWRAP.sub(r"\1", fragment).replace("$", "")
    s = _HEDGE.sub("", re.sub(r"^[\s#>]*([*_`]*)\s*", r"\1", s), count=1)
    if (first := _head_choice(s, ctx)) is None:
        return None
    kind, pos, rest = first
    if kind not in _ANSWER_KINDS:
        return kind, None
    if (join := _JOIN.match(rest)) and (second := _head_choice(rest[join.end() :], ctx)) and second[1] != pos:
        return "multiple", None
    if clean_tail and not _CLEAN_TAIL.match(rest):
        return None
    return kind, pos


def _combine(found: _Found, text: str, ctx: _Ctx) -> _Choice | None:
    """One verdict from the places that each state an answer.

    A "final answer" outranks the rest; in a reasoning trace the last statement is the
    conclusion; otherwise statements must agree unless the reply visibly revises itself.
    """
    if not found:
        return None
    found = sorted([f for f in found if f[1]] or found, key=lambda f: f[0])
    if ctx.protocol == "reasoning":
        return found[-1][2]
    outcomes = {("answer", c[1]) if c[0] in _ANSWER_KINDS else c for _, _, c in found}
    if len(outcomes) == 1:
        return found[0][2]
    last_at, _, last = found[-1]
    earlier = [at for at, _, c in found if c[1] != last[1] or c[0] not in _ANSWER_KINDS]
    if last[0] in _ANSWER_KINDS and earlier and _REVISION.search(text[max(earlier) : last_at]):
        return last
    return "multiple", None


def _result(choice: _Choice, rule: str, *, name_form: bool = False) -> ParseResult:
    kind, pos = choice
    if kind not in _ANSWER_KINDS:
        return ParseResult(Status.UNPARSEABLE, None, kind)
    if name_form and kind != "letter":  # lenient rules name the form that decided
        rule = "letter_with_text" if kind == "letter_text" else "option_text"
    return ParseResult(Status.ANSWERED, pos, rule)


# --------------------------------------------------------------------------- strict rules
def _lone_letter(text: str, ctx: _Ctx) -> ParseResult | None:
    if not (m := _LONE.fullmatch(_UNWRAP.sub(r"\1", text).replace("$", ""))):
        return None
    if (pos := _position(m.group(1))) >= ctx.n:
        return ParseResult(Status.UNPARSEABLE, None, "out_of_range")
    return ParseResult(Status.ANSWERED, pos, "lone_letter")


def _answer_lines(text: str, ctx: _Ctx) -> ParseResult | None:
    found: _Found = []
    matches = list(_ANSWER_LINE.finditer(text))
    if re.search(r"^\s*Q\s*:", text, re.M):
        matches += _QA_ANSWER.finditer(text)
    for m in matches:
        value = m.group("value")[:_WINDOW]
        if not value.strip(" *_`"):  # "**Answer:**" with the letter on the next line
            nxt = re.match(r"[^\n]*\n\s*([^\n]+)", text[m.end() :])
            value = nxt.group(1) if nxt else ""
        if (choice := _read_choice(value, ctx)) is not None:
            final = any(m.groupdict().get(g) for g in ("final", "final2", "final3"))
            found.append((m.start(), final, choice))
    choice = _combine(found, text, ctx)
    return None if choice is None else _result(choice, "answer_line")


def _json_values(obj: object) -> list[object]:
    if not isinstance(obj, dict):
        return []
    keyed = {str(k).lower(): v for k, v in obj.items()}
    if "final_answer" in keyed:
        return [keyed["final_answer"]]
    values = [keyed[k] for k in _JSON_KEYS if k in keyed]
    return values or [v for inner in obj.values() for v in _json_values(inner)]


def _json_choice(value: object, ctx: _Ctx) -> _Choice | None:
    if isinstance(value, str):
        return _read_choice(value, ctx)
    if isinstance(value, list):
        choices = {c for v in value if (c := _json_choice(v, ctx)) is not None}
        return ("multiple", None) if len(choices) > 1 else next(iter(choices), None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "json_number", None  # 0-based or 1-based? Only the model knows.
    return None


def _json(text: str, ctx: _Ctx) -> ParseResult | None:
    if "{" not in text:
        return None
    decoder, found, saw_key = json.JSONDecoder(), [], False
    for block in [m.group(1) for m in _FENCE.finditer(text)] or [text]:
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
        return _result(_combine(found, text, ctx) or ("no_answer", None), "json")
    if saw_key:
        return None  # {"answer": null, ...} declines in valid JSON; the refusal check reads the rest
    # Truncated or hand-written JSON ('{answer: "B"', single quotes): read the key's value.
    found = [(m.start(), False, c) for m in _JSON_LIKE.finditer(text) if (c := _read_choice(m.group(2), ctx))]
    choice = _combine(found, text, ctx)
    return None if choice is None else _result(choice, "json_like")


# --------------------------------------------------------------------------- lenient rules
def _label_letter(line: str) -> str | None:
    m = _LABEL_LINE.match(line)
    return m.group(1).upper() if m else None


def _drop_echoed_options(lines: list[str], ctx: _Ctx) -> tuple[list[str], int]:
    # Repeating the option list ("A) Anger", "B) Relief", ...) is not choosing; plain lines
    # that hold exactly the option of their letter are set aside, a bolded one is kept.
    echoed = set()
    for i, line in enumerate(lines):
        m = re.fullmatch(r"\s*(?:[-•]\s+)?\(?([A-Za-z])[).:]\s*(.+?)[.\s]*", line)
        if m and "*" not in line and _position(m.group(1)) < ctx.n:
            if ctx.option_res[_position(m.group(1))].fullmatch(m.group(2)):
                echoed.add(i)
    if len(echoed) < 2:
        return lines, 0
    return [line for i, line in enumerate(lines) if i not in echoed], len(echoed)


def _leading(lines: list[str], ctx: _Ctx) -> ParseResult | None:
    first = re.sub(r"^(?:[-•>]\s+|#+\s*)", "", lines[0].strip())
    if (got := _head_letter(first, ctx)) is None:
        return None
    if _read_choice(first, ctx) == ("multiple", None):  # "A or C", "B, D"
        return ParseResult(Status.UNPARSEABLE, None, "multiple")
    # Only a label opens an answer ("B.", "(C) Gratitude", "**D**"); "A is unlikely" and
    # "Option A is tempting" open a comment on an option, which _decisions reads instead.
    if not _LABEL_START.match(first):
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
    others = {_label_letter(line) for line in lines[1:]} | {x.upper() for x in _marked_letters(body)}
    others |= {m.group(1) for m in re.finditer(r"(?<![\w(])([A-Z])\)", body)}
    if not only_answer and others - {None, chr(ord("A") + pos)}:
        return None
    return _result((kind, pos), "leading_letter", name_form=True)


def _decisions(body: str, ctx: _Ctx) -> ParseResult | None:
    found: _Found = []
    for pattern in (*_DECISIONS, _FEELS, _WEAK_DECISION):
        for m in pattern.finditer(body):
            before = body[max(0, m.start() - 40) : m.start()]
            if _NEGATED.search(before) or pattern is _FEELS and _SPECULATIVE.search(before):
                continue
            fragment = body[m.end() : m.end() + _WINDOW].split("\n", 1)[0]
            if (choice := _read_choice(fragment, ctx, clean_tail=pattern is _WEAK_DECISION)) is not None:
                found.append((m.start(), bool(m.groupdict().get("final")), choice))
    for m in _VERDICT_AFTER.finditer(body):
        choice = _choice_before(body[max(0, m.start() - _WINDOW) : m.start()], ctx)
        if choice is not None and not _NEGATED.search(body[max(0, m.start() - 40) : m.start()]):
            found.append((m.start(), False, choice))
    choice = _combine(found, body, ctx)
    return None if choice is None else _result(choice, "answer_phrase", name_form=True)


def _choice_before(before: str, ctx: _Ctx) -> _Choice | None:
    """The choice that ends ``before``: "Option C", "**C**", "C) Relief", "Relief"."""
    line = before[-_WINDOW:].rsplit("\n", 1)[-1].rstrip(" *_`\"'")
    for k, p in enumerate(ctx.option_res):
        ends = [m for m in p.finditer(line) if m.end() == len(line)]
        if ends:
            label = re.search(r"(?<![A-Za-z])([A-Z])[).:]?\s*[*_`]*\s*[(\[]?$", line[: ends[0].start()])
            if label is None:
                return "text", k
            return ("letter_text", k) if _position(label.group(1)) == k else ("contradiction", None)
    m = re.search(r"(?:(?:option|choice)\s+|(?<![\w'.\-]))[(\[*`]*([A-Za-z])[)\]*`]*$", line, re.I)
    if not m or (m.group(1).islower() and not re.search(r"option|choice|[(\[*`]", m.group(0), re.I)):
        return None
    pos = _position(m.group(1))
    if pos >= ctx.n:
        return None if m.group(1).upper() == "I" else ("out_of_range", None)
    return "letter", pos


def _final_line(lines: list[str], ctx: _Ctx) -> ParseResult | None:
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
        if _NEGATION_WORDS.search(part):
            continue
        if (choice := _read_choice(part, ctx, clean_tail=True)) is not None:
            return _result(choice, "final_line", name_form=True)
    if _NEGATION_WORDS.search(last):
        return None
    letters = {_position(x) for x in _marked_letters(last)}
    letters |= {_position(m.group(1)) for m in _BARE_CAPITAL.finditer(last) if _bare_is_letter(last, m)}
    letters = {p for p in letters if p < ctx.n}
    return ParseResult(Status.ANSWERED, letters.pop(), "final_line") if len(letters) == 1 else None


def _bare_is_letter(text: str, m: re.Match[str]) -> bool:
    word = re.match(r"\s+([a-z]+)", text[m.end() :])
    return m.group(1) not in "AI" or word is None or word.group(1) in _AFTER_LETTER_WORDS


def _marked_letter(m: re.Match[str]) -> str:
    return next(g for g in m.groups()[1:] if g and len(g) == 1)


def _marked_letters(text: str) -> list[str]:
    return [_marked_letter(m) for m in _MARKED.finditer(text)]


def _clause_around(text: str, start: int, end: int) -> str:
    """The words of the clause around ``text[start:end]``, without those words themselves."""
    before = re.split(r"[.,;:!?\n]", text[max(0, start - _WINDOW) : start])[-1]
    return before + " " + re.split(r"[.,;:!?\n]", text[end : end + _WINDOW])[0]


def _mentions(body: str, ctx: _Ctx) -> ParseResult:
    # Last resort for short replies: the one option marked up ("**C**", "(C)") or named. A
    # mention in a negated clause ("anger (A) doesn't fit") is no choice; one in a tentative
    # clause ("she might feel anger", "or shame") is a candidate, and two candidates with no
    # decision between them are several answers. In a long discussion nothing here decides.
    found = [(m.span(), _position(_marked_letter(m)), f"{m.lastgroup}_letter") for m in _MARKED.finditer(body)]
    found += [(m.span(), k, "option_mention") for k, p in enumerate(ctx.option_res) for m in p.finditer(body)]
    named: dict[int, str] = {}
    floated: set[int] = set()
    alternatives = False  # "X, or Y" offers both
    for (start, end), pos, rule in sorted(found):
        if pos >= ctx.n:
            continue
        around = _clause_around(body, start, end)
        if _NEGATION_WORDS.search(around):
            continue
        if _TENTATIVE.search(around):
            floated.add(pos)
            alternatives = alternatives or bool(re.match(r"\s*(?:or|either)\b", around, re.I))
        else:
            named.setdefault(pos, rule)
    if len(named) == 1 and len(body.split()) <= 60 and not (alternatives and floated - set(named)):
        pos, rule = named.popitem()
        return ParseResult(Status.ANSWERED, pos, rule)
    if len(set(named) | floated) > 1:
        return ParseResult(Status.UNPARSEABLE, None, "multiple")
    return ParseResult(Status.UNPARSEABLE, None, "no_answer")


# --------------------------------------------------------------------------- entry point
def parse_reply(
    reply: str | None, options: Sequence[str], *, protocol: str = "standard", error: str | None = None
) -> ParseResult:
    """Read which shown option a reply chose.

    ``options`` are the option texts in shown order (letters A, B, ... by position);
    ``error`` is the client's error message when the call failed, which decides alone.
    """
    if protocol not in set(ProtocolName):
        raise ValueError(f"unknown protocol {protocol!r}; use one of: {', '.join(ProtocolName)}")
    if isinstance(options, str) or not 2 <= len(options) <= 26:
        raise ValueError("options must be a sequence of 2 to 26 option texts, in shown order")
    if error is not None:
        return ParseResult(Status.ERROR, None, "error")
    if reply is None or not reply.strip():
        return ParseResult(Status.EMPTY, None, "empty")
    ctx = _Ctx(len(options), protocol, _option_patterns(tuple(options)))
    text = _normalize(reply)
    # A <think> block is deliberation and the reply proper follows it. An unclosed one means
    # the reply was cut off mid-thought: then only an explicit answer line counts.
    text = _THINK.sub("", text).strip() or text.strip()
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
    if _NOT_APPLICABLE.fullmatch(body):  # "N/A" declines; it is not option N
        return ParseResult(Status.REFUSED, None, "refusal")
    whole = re.sub(r"^[\W_]+|[\W_]+$", "", body)
    for k, p in enumerate(ctx.option_res):
        if p.fullmatch(whole):
            return ParseResult(Status.ANSWERED, k, "option_text")
    got = _leading(lines, ctx) or _decisions(body, ctx) or _final_line(lines, ctx)
    if got is not None:
        return got
    if _REFUSAL.search(body):
        return ParseResult(Status.REFUSED, None, "refusal")
    return _mentions(body, ctx)
