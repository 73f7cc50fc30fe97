"""Meaning-preserving rewrites: phrase templates and a lexicon of everyday support words."""

from __future__ import annotations

import random
import re
from typing import Final

from tunegate.probes._base import Perturbation, ProbeContext, match_case

__all__ = ["REWRITES", "SYNONYMS", "paraphrase"]

REWRITES: Final[tuple[tuple[str, str], ...]] = (
    (r"\bI was charged twice\b", "I got charged two times"),
    (r"\bcharged (me )?twice\b", r"charged \1two times"),
    (r"\btwo times\b", "twice"),
    (r"\bI can't\b", "I cannot"),
    (r"\bI cannot\b", "I'm unable to"),
    (r"\bcan't\b", "cannot"),
    (r"\bdon't\b", "do not"),
    (r"\bdoesn't\b", "does not"),
    (r"\bwon't\b", "will not"),
    (r"\bisn't\b", "is not"),
    (r"\bhasn't\b", "has not"),
    (r"\bI'm\b", "I am"),
    (r"\bI've\b", "I have"),
    (r"\bI'd like to\b", "I want to"),
    (r"\bI want to\b", "I'd like to"),
    (r"\bit's\b", "it is"),
    (r"\bthat's\b", "that is"),
    (r"\bPlease help\b", "Could you help"),
    (r"\bplease\b", "kindly"),
    (r"\bThanks\b", "Thank you"),
    (r"\bThank you\b", "Many thanks"),
    (r"\bstill\b", "even now"),
    (r"\bkeeps (\w+ing)\b", r"is always \1"),
    (r"\bdays ago\b", "days back"),
    (r"\bASAP\b", "as soon as possible"),
)
"""(pattern, replacement) phrase rewrites, tried case-sensitively."""

SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "package": ("parcel",), "parcel": ("package",), "order": ("purchase",),
    "orders": ("purchases",), "purchase": ("order",), "refund": ("reimbursement",),
    "help": ("assistance",), "problem": ("issue", "trouble"), "issue": ("problem",),
    "broken": ("faulty", "damaged"), "damaged": ("broken",), "cancel": ("call off",),
    "received": ("got",), "bought": ("purchased",), "wrong": ("incorrect",),
    "fix": ("resolve", "repair"), "urgent": ("pressing",), "tried": ("attempted",),
    "says": ("shows",), "shows": ("says",), "delivery": ("drop-off",),
    "courier": ("delivery driver",), "website": ("site",), "site": ("website",),
    "app": ("application",), "phone": ("mobile",), "email": ("e-mail",),
    "money": ("funds",), "paid": ("settled",), "payment": ("transaction",),
    "invoice": ("bill",), "password": ("passcode",), "login": ("sign-in",),
    "slow": ("sluggish",), "error": ("fault",), "stopped": ("ceased",),
    "working": ("functioning",), "quickly": ("fast",), "yesterday": ("the day before",),
    "hello": ("hi",), "hi": ("hello",), "hey": ("hi",), "really": ("truly",),
    "extremely": ("very",), "big": ("large",), "small": ("little",),
    "question": ("query",), "answer": ("reply",), "reply": ("response",),
}
"""Lower-case word -> everyday synonyms that keep the ticket's meaning."""

_WORDS: Final = re.compile(r"[A-Za-z]+")


def _rewrite(rng: random.Random, text: str) -> tuple[str, list[str]]:
    """Apply a random subset (at least one, when any matches) of the phrase rewrites."""
    matching = [(p, r) for p, r in REWRITES if re.search(p, text)]
    applied = []
    for pattern, replacement in rng.sample(matching, min(len(matching), rng.randint(1, 2))):
        changed = re.sub(pattern, replacement, text)
        if changed != text:
            text = changed
            applied.append(pattern)
    return text, applied


def _synonyms(rng: random.Random, text: str) -> tuple[str, list[str]]:
    """Swap one to three lexicon words (every occurrence of each) for a synonym."""
    present = sorted({m.group().lower() for m in _WORDS.finditer(text)} & SYNONYMS.keys())
    chosen = set(rng.sample(present, min(len(present), rng.randint(1, 3))))
    picks = {word: rng.choice(SYNONYMS[word]) for word in sorted(chosen)}
    changed = _WORDS.sub(
        lambda m: match_case(m.group(), picks[m.group().lower()])
        if m.group().lower() in picks else m.group(),
        text,
    )
    return changed, sorted(picks)


def paraphrase(text: str, rng: random.Random, context: ProbeContext) -> Perturbation:
    """Phrase rewrites and synonym swaps; unchanged when nothing in the text is known."""
    text, rules = _rewrite(rng, text)
    text, words = _synonyms(rng, text)
    return Perturbation(text, {"paraphrase_rules": rules, "synonyms": words})
