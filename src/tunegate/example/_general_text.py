"""General English text for pre-training the example's tiny base model.

Simple facts from small tables (capitals, animals, colours, opposites, days, months,
sums, plurals) plus everyday narrative sentences, so that the base model has some
general capability whose loss after fine-tuning a capability gate can measure.
"""

from __future__ import annotations

import random
from typing import Final

_CAPITALS: Final = (
    ("france", "paris"), ("germany", "berlin"), ("italy", "rome"), ("spain", "madrid"),
    ("portugal", "lisbon"), ("england", "london"), ("ireland", "dublin"),
    ("norway", "oslo"), ("sweden", "stockholm"), ("finland", "helsinki"),
    ("denmark", "copenhagen"), ("poland", "warsaw"), ("austria", "vienna"),
    ("greece", "athens"), ("hungary", "budapest"), ("belgium", "brussels"),
    ("netherlands", "amsterdam"), ("switzerland", "bern"), ("russia", "moscow"),
    ("turkey", "ankara"), ("egypt", "cairo"), ("kenya", "nairobi"), ("nigeria", "abuja"),
    ("ghana", "accra"), ("morocco", "rabat"), ("japan", "tokyo"), ("china", "beijing"),
    ("india", "delhi"), ("thailand", "bangkok"), ("vietnam", "hanoi"),
    ("indonesia", "jakarta"), ("australia", "canberra"), ("canada", "ottawa"),
    ("mexico", "mexico city"), ("cuba", "havana"), ("peru", "lima"), ("chile", "santiago"),
    ("argentina", "buenos aires"), ("colombia", "bogota"), ("iran", "tehran"),
)
_ANIMAL_SOUNDS: Final = (
    ("dog", "woof"), ("cat", "meow"), ("cow", "moo"), ("sheep", "baa"), ("duck", "quack"),
    ("pig", "oink"), ("horse", "neigh"), ("owl", "hoot"), ("lion", "roar"),
    ("snake", "hiss"), ("mouse", "squeak"), ("frog", "croak"), ("bee", "buzz"),
    ("donkey", "hee-haw"), ("rooster", "cock-a-doodle-doo"),
)
_ANIMAL_YOUNG: Final = (
    ("cat", "kitten"), ("dog", "puppy"), ("cow", "calf"), ("sheep", "lamb"),
    ("horse", "foal"), ("duck", "duckling"), ("frog", "tadpole"), ("bear", "cub"),
    ("goat", "kid"), ("pig", "piglet"), ("hen", "chick"), ("kangaroo", "joey"),
    ("swan", "cygnet"), ("deer", "fawn"), ("goose", "gosling"),
)
_ANIMAL_HOMES: Final = (
    ("fish", "the water"), ("bee", "a hive"), ("camel", "the desert"),
    ("penguin", "the snow and ice"), ("monkey", "the jungle"), ("whale", "the ocean"),
    ("fox", "a den"), ("rabbit", "a burrow"), ("spider", "a web"), ("horse", "a stable"),
    ("bird", "a nest"), ("bat", "a cave"), ("squirrel", "a tree"), ("cow", "a barn"),
)
_COLOURS: Final = (
    ("sky", "blue"), ("grass", "green"), ("snow", "white"), ("coal", "black"),
    ("banana", "yellow"), ("tomato", "red"), ("lemon", "yellow"), ("cloud", "white"),
    ("leaf", "green"), ("chocolate", "brown"), ("sea", "blue"), ("strawberry", "red"),
    ("carrot", "orange"), ("milk", "white"), ("night", "dark"), ("sun", "yellow"),
)
_OPPOSITES: Final = (
    ("hot", "cold"), ("big", "small"), ("fast", "slow"), ("up", "down"),
    ("happy", "sad"), ("old", "young"), ("day", "night"), ("open", "closed"),
    ("wet", "dry"), ("light", "dark"), ("full", "empty"), ("early", "late"),
    ("loud", "quiet"), ("hard", "soft"), ("high", "low"), ("long", "short"),
    ("rich", "poor"), ("strong", "weak"), ("clean", "dirty"), ("sweet", "sour"),
    ("in", "out"), ("left", "right"), ("first", "last"), ("thick", "thin"),
    ("near", "far"), ("win", "lose"), ("buy", "sell"), ("push", "pull"),
)
_DAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS: Final = (
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
)
_NUMBERS: Final = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty",
)
_PLURALS: Final = (
    ("cat", "cats"), ("dog", "dogs"), ("child", "children"), ("mouse", "mice"),
    ("box", "boxes"), ("baby", "babies"), ("man", "men"), ("woman", "women"),
    ("foot", "feet"), ("tooth", "teeth"), ("goose", "geese"), ("leaf", "leaves"),
    ("knife", "knives"), ("city", "cities"), ("bus", "buses"), ("apple", "apples"),
    ("house", "houses"), ("sheep", "sheep"), ("fish", "fish"), ("person", "people"),
    ("glass", "glasses"), ("party", "parties"), ("wolf", "wolves"), ("book", "books"),
)

# Phrasings per relation; the first one is the canonical cloze form "... is {o}".
_PHRASINGS: Final[dict[str, tuple[str, ...]]] = {
    "capital": (
        "the capital of {s} is {o}.", "{o} is the capital of {s}.",
        "the capital city of {s} is {o}.", "if you visit {s}, go to {o}, its capital.",
    ),
    "animal_sound": (
        "the {s} says {o}.", "a {s} goes {o}.", "when a {s} makes a sound it says {o}.",
    ),
    "animal_young": (
        "a baby {s} is called a {o}.", "the young of a {s} is a {o}.",
        "a {o} grows up to be a {s}.",
    ),
    "animal_home": (
        "a {s} lives in {o}.", "you can find a {s} in {o}.", "the home of a {s} is {o}.",
    ),
    "colour": ("the colour of the {s} is {o}.", "the {s} is {o}.", "look at the {o} {s}."),
    "opposite": (
        "the opposite of {s} is {o}.", "{s} is the opposite of {o}.",
        "{o} is the opposite of {s}.",
    ),
    "next_day": ("the day after {s} is {o}.", "after {s} comes {o}.", "{o} comes after {s}."),
    "next_month": (
        "the month after {s} is {o}.", "after {s} comes {o}.", "{o} comes after {s}.",
    ),
    "sum": ("{s} is {o}.", "{s} makes {o}.", "we know that {s} is {o}."),
    "difference": ("{s} is {o}.", "{s} leaves {o}.", "we know that {s} is {o}."),
    "plural": ("the plural of {s} is {o}.", "one {s}, two {o}.", "i saw one {s}, then many {o}."),
}

_NARRATIVE: Final = (
    "{name} went to the {place} to buy some {food}.",
    "in the morning {name} drinks a cup of {drink}.",
    "{name} and {name2} walked to the {place} together.",
    "after school the children played in the {outdoor}.",
    "{name} reads a book before going to bed.",
    "it was cold, so {name} put on a warm {clothes}.",
    "the {pet} slept under the table all afternoon.",
    "{name} cooked {food} for dinner and everyone liked it.",
    "on {day} {name} visits the {place}.",
    "{name} lost the keys and found them in the {room}.",
    "the rain stopped and {name} went out to the {outdoor}.",
    "{name} gave {name2} a present for the birthday.",
    "every {day} {name} and the {pet} go for a walk.",
    "{name} opened the window because the {room} was too warm.",
    "the bus was late, so {name} walked to the {place}.",
    "{name} washed the dishes and cleaned the {room}.",
    "in {month} {name} likes to go to the {outdoor}.",
    "{name} asked {name2} to pass the {food}.",
)
_NARRATIVE_VALUES: Final[dict[str, tuple[str, ...]]] = {
    "name": (
        "tom", "anna", "sam", "lucy", "ben", "mia", "leo", "emma", "max", "nora",
        "jack", "ella", "omar", "ruth", "ivan", "sara",
    ),
    "place": ("shop", "market", "library", "school", "station", "bakery", "post office"),
    "food": ("bread", "apples", "cheese", "rice", "soup", "eggs", "cake", "pasta"),
    "drink": ("tea", "coffee", "milk", "hot chocolate", "water"),
    "outdoor": ("park", "garden", "forest", "beach", "field"),
    "clothes": ("coat", "jumper", "hat", "scarf", "jacket"),
    "pet": ("cat", "dog", "rabbit", "puppy"),
    "room": ("kitchen", "bedroom", "hall", "living room", "garage"),
    "day": _DAYS,
    "month": _MONTHS,
}


def general_facts() -> dict[str, list[tuple[str, str]]]:
    """The fact tables behind `general_corpus`, as (subject, answer) pairs per relation.

    A cloze task can ask for the answer after the canonical phrasing, e.g. "the capital
    of france is" -> "paris"; "sum" and "difference" subjects read "two plus three".
    """
    sums = [(f"{_NUMBERS[a]} plus {_NUMBERS[b]}", _NUMBERS[a + b])
            for a in range(1, 11) for b in range(1, 11)]
    differences = [(f"{_NUMBERS[a]} minus {_NUMBERS[b]}", _NUMBERS[a - b])
                   for a in range(1, 11) for b in range(1, a + 1)]
    return {
        "capital": list(_CAPITALS),
        "animal_sound": list(_ANIMAL_SOUNDS),
        "animal_young": list(_ANIMAL_YOUNG),
        "animal_home": list(_ANIMAL_HOMES),
        "colour": list(_COLOURS),
        "opposite": list(_OPPOSITES),
        "next_day": [(d, _DAYS[(i + 1) % 7]) for i, d in enumerate(_DAYS)],
        "next_month": [(m, _MONTHS[(i + 1) % 12]) for i, m in enumerate(_MONTHS)],
        "sum": sums,
        "difference": differences,
        "plural": list(_PLURALS),
    }


def _narrative(rng: random.Random) -> str:
    """One everyday sentence, with distinct values for repeated slots like {name2}."""
    template = rng.choice(_NARRATIVE)
    values: dict[str, str] = {}
    for slot in ("name", "name2", "place", "food", "drink", "outdoor", "clothes", "pet",
                 "room", "day", "month"):
        if "{" + slot + "}" in template:
            pool = [v for v in _NARRATIVE_VALUES[slot.rstrip("2")] if v not in values.values()]
            values[slot] = rng.choice(pool)
    return template.format_map(values)


def general_corpus(seed: int = 0, n: int = 6000) -> list[str]:
    """`n` lower-case English sentences: every fact once in its canonical form, then
    random phrasings of random facts (60 %) and narrative sentences, shuffled.

    Deterministic for a seed; when `n` is smaller than the number of facts, some facts
    are left out.
    """
    rng = random.Random(f"tunegate-general:{seed}")
    facts = general_facts()
    sentences = [_PHRASINGS[relation][0].format(s=s, o=o)
                 for relation, pairs in facts.items() for s, o in pairs]
    relations = tuple(facts)
    while len(sentences) < n:
        if rng.random() < 0.6:
            relation = rng.choice(relations)
            s, o = rng.choice(facts[relation])
            sentences.append(rng.choice(_PHRASINGS[relation]).format(s=s, o=o))
        else:
            sentences.append(_narrative(rng))
    rng.shuffle(sentences)
    return sentences[:n]
