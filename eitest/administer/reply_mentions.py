"""The parser's last resort: the one option a short reply marks up ("**C**", "(C)") or names.

:func:`mentioned` returns the rule that decided and the position it chose: ``bold_letter``,
``paren_letter``, ``option_letter`` or ``option_mention`` with a position, or ``multiple``
or ``no_answer`` without one. The letters marked up are read here for the other rules too.
"""

from __future__ import annotations

import re

from eitest.administer.reply_choice import WINDOW, Ctx, letter_position
from eitest.administer.reply_patterns import AFTER_LETTER_WORDS, MARKED, NEGATION_WORDS, TENTATIVE


def bare_is_letter(text: str, m: re.Match[str]) -> bool:
    word = re.match(r"\s+([a-z]+)", text[m.end() :])
    return m.group(1) not in "AI" or word is None or word.group(1) in AFTER_LETTER_WORDS


def marked_letter(m: re.Match[str]) -> str:
    return next(g for g in m.groups()[1:] if g and len(g) == 1)


def marked_letters(text: str) -> list[str]:
    return [marked_letter(m) for m in MARKED.finditer(text)]


def clause_around(text: str, start: int, end: int) -> str:
    """The words of the clause around ``text[start:end]``, without those words themselves."""
    before = re.split(r"[.,;:!?\n]", text[max(0, start - WINDOW) : start])[-1]
    return before + " " + re.split(r"[.,;:!?\n]", text[end : end + WINDOW])[0]


def mentioned(body: str, ctx: Ctx) -> tuple[str, int | None]:
    # Last resort for short replies: the one option marked up ("**C**", "(C)") or named. A
    # mention in a negated clause ("anger (A) doesn't fit") is no choice; one in a tentative
    # clause ("she might feel anger", "or shame") is a candidate, and two candidates with no
    # decision between them are several answers. In a long discussion nothing here decides.
    found = [(m.span(), letter_position(marked_letter(m)), f"{m.lastgroup}_letter") for m in MARKED.finditer(body)]
    found += [(m.span(), k, "option_mention") for k, p in enumerate(ctx.option_res) for m in p.finditer(body)]
    named: dict[int, str] = {}
    floated: set[int] = set()
    alternatives = False  # "X, or Y" offers both
    for (start, end), pos, rule in sorted(found):
        if pos >= ctx.n:
            continue
        around = clause_around(body, start, end)
        if NEGATION_WORDS.search(around):
            continue
        if TENTATIVE.search(around):
            floated.add(pos)
            alternatives = alternatives or bool(re.match(r"\s*(?:or|either)\b", around, re.I))
        else:
            named.setdefault(pos, rule)
    if len(named) == 1 and len(body.split()) <= 60 and not (alternatives and floated - set(named)):
        pos, rule = named.popitem()
        return rule, pos
    return ("multiple" if len(set(named) | floated) > 1 else "no_answer"), None
