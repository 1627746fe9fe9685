"""Two forms of 20 items written for the probe's tests (our own texts, one the other's controls), and a hostile reply."""

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
# The control form: items of the same style, which the scripted servers have "never seen".
CONTROL_NAMES = ["Ada", "Bao", "Cora", "Dev", "Elif", "Femi", "Gia", "Hugo", "Ines", "Jonas",
                 "Kai", "Lior", "Mina", "Niko", "Olga", "Pablo", "Rania", "Sven", "Tariq", "Uma"]  # fmt: skip
CONTROL_EVENTS = [
    "is told that the train home has been cancelled and no replacement bus has been arranged",
    "gets a call from an old teacher who remembers the essay she wrote as a child",
    "sees that the parcel he posted to his sister was returned unopened after three weeks",
    "hears that the small shop she opened last year has been named the best in the town",
    "realises that the umbrella he borrowed from a friend was left behind on the tram",
    "finds a note from a stranger thanking her for returning a wallet she found in the park",
    "is waiting to hear whether the flat he offered on will be his by the end of the day",
    "discovers that a colleague has been reading her private messages on the shared computer",
    "learns that the job interview he travelled all night for has been moved to next month",
    "opens the oven to find that the cake for her daughter's party has collapsed in the middle",
    "is praised by his manager in front of the whole team for finishing the report early",
    "notices that someone has scratched a long line down the side of her new car",
    "hears from the vet that his old dog will be fine after the operation",
    "is told by a neighbour that the tree in her garden may have to be cut down next spring",
    "realises that he gave the wrong directions to a tourist who is now far from the museum",
    "sees her best friend leave the party without saying goodbye to anyone",
    "passes the driving test he failed twice before on a wet and windy morning",
    "is handed a dish at a restaurant that has a long hair lying across the rice",
    "learns that her grandfather's watch, lost for years, was found by a cousin in the attic",
    "is asked by his landlord to leave the flat within a month for no reason given",
]
EMOTIONS = ["Relief", "Anger", "Pride", "Sadness", "Hope", "Guilt", "Joy", "Fear", "Regret", "Surprise"]
HOSTILE = "<script>alert('probe')</script>"


def _items(names: list[str] = NAMES, events: list[str] = EVENTS, prefix: str = "m") -> list[dict]:
    items = []
    for n, (name, event) in enumerate(zip(names, events, strict=True)):
        emotions = [EMOTIONS[(n + k) % len(EMOTIONS)] for k in range(5)]
        items.append(
            {
                "id": f"{prefix}{n:02d}",
                "stem": f"{name} {event}. Nobody else in the room seems to notice what just happened.",
                "question": f"What is {name} most likely to feel?",
                "options": [{"id": "abcde"[k], "text": e} for k, e in enumerate(emotions)],
                "key": "a",
            }
        )
    return items


ITEMS = _items()
CONTROL_ITEMS = _items(CONTROL_NAMES, CONTROL_EVENTS, "c")


def form(controls: bool = False):
    """The 20 items as an instrument (with ``controls``, the 20 of the control form)."""
    from conftest import instrument_data

    from eitest.instruments import parse_instrument

    if controls:
        return parse_instrument(instrument_data("probe-controls-form", CONTROL_ITEMS), "the probe's control form")
    return parse_instrument(instrument_data("probe-form", ITEMS), "the probe's test form")
