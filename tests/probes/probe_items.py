"""A form of 20 items written for the probe's tests (our own texts), and a hostile reply."""

from __future__ import annotations

NAMES = ["Amara", "Bilal", "Chen", "Dagny", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jia",
         "Kofi", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sami", "Tove"]  # fmt: skip
EVENTS = [
    "finds out that the flat she wanted has gone to another tenant after weeks of viewings",
    "hears that his cousin has praised his cooking to the whole family at the reunion",
    "learns the night before that the presentation she prepared for a month is cancelled",
    "discovers that the bicycle he left unlocked outside the station is still there at midnight",
    "is told by her coach that she will start the final match instead of sitting on the bench",
    "realises that he forgot to send the birthday card his grandmother always looks forward to",
    "receives a letter saying that the scholarship she applied for may still be awarded next month",
    "sees a neighbour throw rubbish over the fence into the garden he spent all spring planting",
    "wins a small prize in a raffle she entered only to support the local school",
    "notices that the shop has charged him twice for the same jacket and the queue is long",
    "is waiting for the results of a medical test that will come back at the end of the week",
    "hears a colleague take credit in a meeting for the plan he drafted on his own",
    "finishes the long mountain trail she trained for over two whole summers",
    "spills coffee over the notes a classmate lent him the day before the exam",
    "finds the ring she lost on the beach last year in the pocket of an old coat",
    "is asked to give a speech at a friend's wedding with only an hour's notice",
    "sees that the bus she needs has left a minute early and the next one is in an hour",
    "learns that the old cinema where he had his first job is being pulled down",
    "gets a message that her brother arrived home safely after a stormy flight",
    "is given a mouldy sandwich by the cafe that he visits every single morning",
]
EMOTIONS = ["Relief", "Anger", "Pride", "Sadness", "Hope", "Guilt", "Joy", "Fear", "Regret", "Surprise"]
HOSTILE = "<script>alert('probe')</script>"


def _items() -> list[dict]:
    items = []
    for n, (name, event) in enumerate(zip(NAMES, EVENTS, strict=True)):
        emotions = [EMOTIONS[(n + k) % len(EMOTIONS)] for k in range(5)]
        items.append(
            {
                "id": f"m{n:02d}",
                "stem": f"{name} {event}. Nobody else in the room seems to notice what just happened.",
                "question": f"What is {name} most likely to feel?",
                "options": [{"id": "abcde"[k], "text": e} for k, e in enumerate(emotions)],
                "key": "a",
            }
        )
    return items


ITEMS = _items()


def form():
    """The 20 items as an instrument."""
    from conftest import instrument_data

    from eitest.instruments import parse_instrument

    return parse_instrument(instrument_data("probe-form", ITEMS), "the probe's test form")
