"""The vocabulary of replies to a multiple-choice item, as patterns: letters, answer lines, decisions, refusals.

These are the words and shapes :mod:`eitest.administer.parsing` looks for: how a letter
is marked up (``**B**``, ``(B)``, ``Option B``), the lines and phrases that state an
answer ("Answer: B", "I'd choose C", in several languages), the hedges and fillers
around one, the guards that show a mention is negated or only floated, and what a
refusal sounds like. The rules that use them, and their order, live in the parser.
"""

from __future__ import annotations

import re

OPEN, CLOSE = "[(\\[*_`\"'“‘]*", "[)\\]*_`\"'”’]*"
HEAD_LETTER = re.compile(
    rf"(?P<pre>{OPEN})(?P<word>(?:option|choice|letter)\s*)?(?P<open>{OPEN})(?P<letter>[A-Za-z])(?P<close>{CLOSE})"
    r"(?![A-Za-z0-9]|'[A-Za-z])",
    re.I,
)
LONE = re.compile(
    rf"{OPEN}\s*(?:(?:option|choice|letter)\s*[:\-]?\s*|answer\s+)?{OPEN}([A-Za-z])[\s.!,;:*_`\"'”’)\]}}]*", re.I
)
# After a bare capital "A" or "I" (the article, the pronoun) only these words show a letter.
AFTER_LETTER_WORDS = frozenset(
    "is seems appears would fits fit best because as since and or was looks sounds describes matches captures "
    "reflects makes works feels".split()
)
# Words in front of a choice that do not change it ("Answer: I think B", "either B or D").
HEDGE = re.compile(
    r"^(?:\s*(?:i\s+(?:think|believe|guess|(?:would|'d)\s+say|say|(?:(?:would|'d)\s+)?(?:choose|pick|select|go\s+with))"
    r"|it(?:'s|\s+is|\s+would\s+be)|that(?:'s|\s+is|\s+would\s+be)|this\s+is|(?:most\s+)?likely|probably|definitely"
    r"|clearly|either|both|maybe|perhaps|possibly|(?:the\s+)?answer\s+is|is|be)\b[\s,:]*)+",
    re.I,
)
# Words between a decision and an option's text: "a feeling of relief", "to talk to the manager".
FILLER = re.compile(
    r"^(?:\s*(?:(?:a|an|the|to|some|mostly|mainly|primarily|deep|great|strong|intense|overwhelming|profound|genuine"
    r"|real)\s+|(?:feelings?|sense|state|mix|mixture|combination)\s+of\s+|[\"'“*_`(]+))*",
    re.I,
)
# What joins a second choice to the first: "A or C", "relief and guilt", "B/D", "B (or maybe C)".
JOIN = re.compile(
    r"\s*[)\]*_`\"'”’]*\s*\(?\s*(?:,|/|&|\+|\band/or\b|\bor\b|\band\b|\bas\s+well\s+as\b|\bplus\b)(?:\s*\b(?:or|and)\b)?"
    r"\s*(?:also\s+|maybe\s+|possibly\s+|perhaps\s+|even\s+|option\s+|choice\s+)?",
    re.I,
)
# What may follow an option's text for the text to belong to the letter before it.
TEXT_END = re.compile(r"\s*(?:$|[\n.,;:!?)\]*_\-–—(]|because\b|since\b|as\b)", re.I)
# What may follow a choice when the phrase before it is weak ("I think C." but not "I think A could").
CLEAN_TAIL = re.compile(r"\s*(?:$|[.!,;:)\]*_`\"'”’(—–-]|(?:because|since|as|over|rather|instead|here)\b)", re.I)
UNWRAP = re.compile(r"\\(?:boxed|text|textbf|mathbf|mathrm)\{([^{}]*)\}")
ANSWER_LINE = re.compile(
    r"(?:(?<![A-Za-zА-я])(?:(?:my\s+|the\s+)?(?P<final>final|endgültige|finale?|окончательный)\s+)?"
    r"(?:answer|antwort|réponse|respuesta|resposta|risposta|ответ)(?:\s+(?P<final2>finale?))?"
    r"|(?P<final3>最终|最終)?(?:答案|回答|答え))[\s*_\"'`]*[:：][\s*_]*(?P<value>[^\n]*)",
    re.I,
)
QA_ANSWER = re.compile(r"^\s*A\s*:\s*(?P<value>[^\n]*)", re.M)  # "Q: ...\nA: Relief" is question and answer
# Phrases after which the answer follows: "the answer is", "I'd choose", "the best response is".
DECISIONS = [
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
# "she might feel anger" only speculate, so these must also pass the SPECULATIVE guard.
FEELS = re.compile(
    r"\b(?:would|will|'d|to)\s+(?:(?:most\s+)?\w+ly\s+)?(?:feel|experience)\s+(?:most\s+)?"
    r"|\b(?:feels|experiences)\s+(?:\w+ly\s+)?",
    re.I,
)
WEAK_DECISION = re.compile(r"\bI\s+(?:think|believe)\s+(?:it(?:'s|\s+is)\s+)?", re.I)
# "C is the best", "Relief seems most likely": the choice comes before the verdict.
VERDICT_AFTER = re.compile(
    r"\s*(?:is|seems|appears|would\s+be|sounds|fits)\s+(?:to\s+be\s+)?(?:the\s+)?(?:most\s+|clearly\s+|definitely\s+)?"
    r"(?:best|correct|right|likely|appropriate|reasonable|effective|fitting|suitable|plausible|sensible|ideal"
    r"|optimal|accurate|answer)\b",
    re.I,
)
# Guards on the 40 characters before a decision: negated, conditional, speculative.
NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno)\s+(?:\w+\s+){0,2}$|\bif\b[^,;.:]*$", re.I)
TENTATIVE = re.compile(r"^\s*or\b|\b(?:some|others|many|might|could|may|perhaps|maybe|possibly|if)\b", re.I)
SPECULATIVE = re.compile(r"\b(?:some|others|many|might|could|may|can|perhaps|maybe)\b[^,;.:]*$", re.I)
NEGATION_WORDS = re.compile(r"\b(?:not|no|never|wrong|incorrect|unlikely|rule\s+out|eliminate\w*|except)\b|n't", re.I)
REVISION = re.compile(
    r"\b(?:actually|wait|on\s+second\s+thought|on\s+reflection|correction|reconsider\w*|change\s+my\s+answer)\b", re.I
)
LABEL_LINE = re.compile(r"\s*(?:[-•]\s+|#+\s*)?[*_(\[]*([A-Za-z])[*_]*[).:\]]")
LABEL_START = re.compile(
    r"\s*(?:option\s+|choice\s+)?[(\[*_`\"']*[A-Za-z][*_`\"']*"
    r"(?:[)\].:;,!?/\-–—]|$|\s+[-–—(]|\s+(?:because|since)\b)",
    re.I,
)
MARKED = re.compile(
    r"(?P<bold>\*\*\s*\(?([A-Za-z])\)?\s*[).:]?\s*\*\*|\*\*([A-Za-z])[).:]|(?<![*\w])[*_`]([A-Za-z])[*_`](?![*\w]))"
    r"|(?P<paren>(?<![\w(])[(\[]([A-Za-z])[)\]])"
    r"|(?P<option>\b(?:option|choice)\s+([A-Z])\b)"
)
BARE_CAPITAL = re.compile(r"(?<![\w'.\-])([A-Z])(?![\w'\-]|\.\w)")
JSON_KEYS = ("final_answer", "answer", "letter", "choice", "option", "selected_option", "selection", "selected")
JSON_LIKE = re.compile(
    r"[\"']?\b(final_answer|answer|letter|choice|selected_option|selection)[\"']?\s*[:=]\s*[\"']?([^\"'\n,}]*)", re.I
)
FENCE = re.compile(r"```[A-Za-z]*\s*(.*?)(?:```|$)", re.S)
THINK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.S | re.I)
NOT_APPLICABLE = re.compile(r"\W*n/?a\W*", re.I)
REFUSAL = re.compile(
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
# Hedges between options. After a choice, what offers another in its place: "B... or C",
# "B? Or maybe C", "B, otherwise C", "B, unless it's C".
ALTERNATIVE_AFTER = re.compile(
    r"[\s.!?;:,…)\]*_`\"'”’\-–—(]*\b(?:or(?:\s+else)?|otherwise|alternatively|unless)\b"
    r"(?:\s+(?:maybe|possibly|perhaps|alternatively|even|also|it's|it\s+is|it\s+(?:could|might|may|would)\s+be|option|choice))*"
    r"[\s,:(*_`\"']*",
    re.I,
)
# After an option: that it is as good an answer ("C is equally plausible", "D works just as
# well", "A could also be right"); "E would also be understandable" concedes, it does not offer.
EQUAL_AFTER = re.compile(
    r"[)\]*_`\"'”’]*\s+(?:\w+\s+){0,2}?(?:also|equally|just\s+as)\s+(?:be\s+)?(?:an?\s+)?(?:correct|right|possible"
    r"|plausible|valid|likely|good|fitting|appropriate|reasonable|defensible|well|sensible|strong|true)\b",
    re.I,
)
SO_DOES = re.compile(r"\bso\s+(?:does|do|would|could|might|is|are)\s+$", re.I)
BETWEEN = re.compile(r"\b(?:between|torn\s+(?:on|over)|toss-?up\s+(?:of|between))\s+[(\[*_`\"']*", re.I)
