"""The bundled offline example: a deterministic support-ticket routing dataset.

`build_datasets` renders train, eval, golden and out-of-domain splits from the templates
in `_ticket_templates`; `write_datasets` stores them as chat JSONL. The data is hard on
purpose (shared vocabulary, negations, multi-intent tickets, typos, and about 8 % vague
tickets whose team is a coin toss) so that a small fine-tuned model scores well but not
perfectly, and the gates have something to see.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Final

from tunegate.data import Example, Message, write_examples
from tunegate.data.hygiene._duplicates import normalize_text, shingle_hashes
from tunegate.example import _ticket_templates as templates
from tunegate.example._general_text import general_corpus, general_facts

__all__ = [
    "LABELS",
    "SPLIT_FILES",
    "SPLIT_SIZES",
    "SYSTEM_PROMPT",
    "build_datasets",
    "general_corpus",
    "general_facts",
    "write_datasets",
]

LABELS: tuple[str, ...] = ("billing", "shipping", "technical", "account", "returns", "other")
SYSTEM_PROMPT = (
    "Route the support ticket to one team: billing, shipping, technical, account, returns or other."
)

SPLIT_SIZES: Final[Mapping[str, int]] = {"train": 1920, "eval": 420, "golden": 180, "ood": 120}
SPLIT_FILES: Final[Mapping[str, str]] = {
    "train": "train/tickets.jsonl",
    "eval": "evals/tickets_eval.jsonl",
    "golden": "golden/tickets_golden.jsonl",
    "ood": "evals/tickets_ood.jsonl",
}

_SUPPORT_TEAMS: Final = LABELS[:-1]
_CLASS_SHARES: Final = {
    "billing": 0.19, "shipping": 0.18, "technical": 0.175,
    "account": 0.165, "returns": 0.16, "other": 0.13,
}
_KIND_SHARES: Final = {"plain": 0.62, "negation": 0.14, "multi": 0.24}
# The golden set holds canonical behaviour that must never break: plain and negated
# tickets. Multi-intent tickets, whose primary intent is subtle, flip between training
# runs of the same recipe, so they are measured in eval, not used as golden references.
_GOLDEN_KIND_SHARES: Final = {"plain": 0.65, "negation": 0.35}
_VAGUE_SHARE: Final = 0.08
_TYPO_SHARE: Final = 0.10
_TRAIN_DATES: Final = (date(2025, 1, 1), date(2026, 10, 31))
# Off-topic requests (recipes, weather, ...) labelled `other`: without them an adapter
# routes a question about the weather confidently to a team. They come from the same
# domains as the `ood` split, never the same text; the OOD probes add domains neither has
# seen (sports, travel, coding). Spread over the whole period, so production has them too.
_OFFTOPIC_TRAIN: Final = 120
_HELD_OUT_DATES: Final = (date(2026, 11, 1), date(2026, 11, 20))
_MAX_ATTEMPTS: Final = 200
_WORD: Final = re.compile(r"[A-Za-z]{4,}")


@dataclass(frozen=True)
class _Slot:
    """One planned ticket: its team (None: drawn with a vague text), kind and typo flag."""

    label: str | None
    kind: str
    typo: bool


@dataclass(frozen=True)
class _Ticket:
    """One rendered ticket before it becomes an `Example`."""

    text: str
    label: str
    topic: str
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)


class _SlotValues(dict[str, str]):
    """Slot values of one ticket, drawn on first use so a repeated slot agrees."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self._rng = rng

    def __missing__(self, key: str) -> str:
        value = self._draw(key)
        self[key] = value
        return value

    def _draw(self, key: str) -> str:
        rng = self._rng
        pool = key.rstrip("0123456789")
        if pool == "order":
            number = rng.randint(10000, 999999)
            return rng.choice((f"#{number}", str(number), f"TG-{number}", f"no. {number}"))
        if pool == "amount":
            cents = rng.choice(("00", "99", "49", "50", "95"))
            return f"{rng.choice('$€£')}{rng.randint(5, 320)}.{cents}"
        if pool == "customer":
            return f"C{rng.randint(100000, 999999)}"
        if pool == "num":
            return str(rng.randint(2, 99))
        used = set(self.values())
        choices = [v for v in templates.SLOT_VALUES[pool] if v not in used]
        return rng.choice(choices or templates.SLOT_VALUES[pool])


def _quota(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Split `total` by `shares` with the largest-remainder rule (exact, deterministic)."""
    weight = sum(shares.values())
    raw = {key: total * share / weight for key, share in shares.items()}
    counts = {key: int(value) for key, value in raw.items()}
    by_remainder = sorted(raw, key=lambda key: (counts[key] - raw[key], key))
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


def _plan(
    rng: random.Random, size: int, class_counts: Mapping[str, int],
    kind_shares: Mapping[str, float], vague: int,
) -> list[_Slot]:
    """Labels, kinds and typo flags of one split, in a shuffled order."""
    plan: list[tuple[str | None, str]] = [(None, "vague")] * vague
    for label, count in class_counts.items():
        for kind, n in _quota(count, kind_shares).items():
            # An out-of-scope request has no "primary" support intent to mark.
            plan.extend([(label, "plain" if label == "other" and kind == "multi" else kind)] * n)
    rng.shuffle(plan)
    typos = set(rng.sample(range(size), round(size * _TYPO_SHARE)))
    return [_Slot(label, kind, i in typos) for i, (label, kind) in enumerate(plan)]


def _issue(rng: random.Random, values: _SlotValues, label: str) -> tuple[str, str]:
    """A random issue statement of `label`, with its subtopic."""
    topic = rng.choice(tuple(templates.ISSUES[label]))
    return rng.choice(templates.ISSUES[label][topic]).format_map(values), topic


def _body(rng: random.Random, values: _SlotValues, slot: _Slot) -> _Ticket:
    """The core of a ticket: the issue, framed by the slot's kind."""
    if slot.kind == "vague":
        text, labels = rng.choice(templates.VAGUE)
        return _Ticket(text.format_map(values), rng.choice(labels), "vague")
    assert slot.label is not None
    issue, topic = _issue(rng, values, slot.label)
    if slot.kind == "negation":
        wrong = rng.choice([team for team in _SUPPORT_TEAMS if team != slot.label])
        frame = rng.choice(templates.NEGATION_FRAMES)
        wrong_thing = rng.choice(templates.NOT_ABOUT[wrong])
        issue = frame.format(wrong=wrong, wrong_thing=wrong_thing, issue=issue)
    elif slot.kind == "multi":
        second = rng.choice([team for team in _SUPPORT_TEAMS if team != slot.label])
        secondary, _ = _issue(rng, values, second)
        issue = rng.choice(templates.MULTI_FRAMES).format(primary=issue, secondary=secondary)
    return _Ticket(issue, slot.label, topic)


def _dress(rng: random.Random, values: _SlotValues, body: str, detail: str | None) -> str:
    """Wrap a ticket body the way people write: short, plain or long with greetings."""
    shape = rng.random()
    if shape < 0.2:
        short = body.rstrip(".!")
        return short[0].lower() + short[1:] if rng.random() < 0.5 else short
    parts = [body]
    if shape >= 0.75:
        parts.insert(0, rng.choice(templates.CONTEXT).format_map(values))
        if detail is not None:
            parts.append(detail)
    if rng.random() < 0.5 or shape >= 0.75:
        parts.insert(0, rng.choice(templates.OPENERS))
    if rng.random() < 0.5 or shape >= 0.75:
        parts.append(rng.choice(templates.CLOSERS).format_map(values))
    return " ".join(parts)


def _vary_case(rng: random.Random, text: str) -> str:
    """Casing as people type it: mostly as written, sometimes all lower or upper case."""
    roll = rng.random()
    if roll < 0.12:
        return text.lower()
    if roll < 0.14:
        return text.upper()
    return text


def _add_typos(rng: random.Random, text: str, edits: int) -> str:
    """Swap, drop or double letters inside words of four letters or more."""
    words = list(_WORD.finditer(text))
    if not words:
        return text
    changed = text
    while changed == text:
        changed = text
        for _ in range(edits):
            words = list(_WORD.finditer(changed))
            word = rng.choice(words)
            i = rng.randint(word.start() + 1, word.end() - 2)
            operation = rng.choice(("swap", "drop", "double"))
            if operation == "swap":
                changed = changed[:i] + changed[i + 1] + changed[i] + changed[i + 2 :]
            elif operation == "drop":
                changed = changed[:i] + changed[i + 1 :]
            else:
                changed = changed[: i + 1] + changed[i:]
    return changed


def _render_ticket(rng: random.Random, slot: _Slot, golden: bool) -> _Ticket:
    """A full support ticket for one planned slot."""
    values = _SlotValues(rng)
    ticket = _body(rng, values, slot)
    detail = None
    if slot.kind in ("plain", "negation"):
        detail = rng.choice(templates.DETAILS[ticket.label])
    text = _dress(rng, values, ticket.text, detail)
    text = text if golden else _vary_case(rng, text)
    if slot.typo:
        text = _add_typos(rng, text, 1 if golden else rng.choice((1, 1, 2, 3)))
    return _Ticket(text, ticket.label, ticket.topic, dict(values))


def _render_ood(rng: random.Random, slot: _Slot, topic: str) -> _Ticket:
    """An out-of-domain request (recipes, weather, ...): always `other`."""
    values = _SlotValues(rng)
    text = rng.choice(templates.OOD[topic]).format_map(values)
    if rng.random() < 0.3:
        text = f"{rng.choice(templates.OPENERS)} {text}"
    text = _vary_case(rng, text)
    if slot.typo:
        text = _add_typos(rng, text, 1)
    return _Ticket(text, "other", topic)


class _TextGuard:
    """The texts drawn so far; ``text in guard`` when it repeats one, exactly or nearly.

    "Nearly" is the data-hygiene gate's default definition (word 3-grams, Jaccard at
    least 0.8), computed exactly here, so the example's splits pass the leakage and
    duplicate gates by construction rather than by luck.
    """

    def __init__(self) -> None:
        from tunegate.config import HygieneConfig

        defaults = HygieneConfig()
        self._shingles = partial(shingle_hashes, kind=defaults.shingles,
                                 size=defaults.shingle_size)
        self._threshold = defaults.near_duplicate_jaccard
        self._exact: set[str] = set()
        self._sizes: list[int] = []
        self._index: dict[int, list[int]] = defaultdict(list)

    def __contains__(self, text: object) -> bool:
        if not isinstance(text, str):
            return False
        if normalize_text(text) in self._exact:
            return True
        shingles = self._shingles(text)
        shared = Counter(j for h in shingles for j in self._index.get(h, ()))
        return any(n / (len(shingles) + self._sizes[j] - n) >= self._threshold
                   for j, n in shared.items())

    def add(self, text: str) -> None:
        self._exact.add(normalize_text(text))
        shingles = self._shingles(text)
        for h in shingles:
            self._index[h].append(len(self._sizes))
        self._sizes.append(len(shingles))


def _dates(first: date, last: date, count: int) -> list[str]:
    """`count` ISO dates spread evenly from `first` to `last`, in order."""
    span = (last - first).days
    return [(first + timedelta(days=i * span // max(count - 1, 1))).isoformat()
            for i in range(count)]


def _examples(
    split: str, rng: random.Random, plan: list[_Slot],
    render: Callable[[random.Random, int, _Slot], _Ticket],
    seen: _TextGuard, dates: tuple[date, date],
) -> list[Example]:
    """Render a split, redrawing any text already used in this or an earlier split."""
    created = _dates(*dates, len(plan))
    examples = []
    for index, slot in enumerate(plan):
        for _ in range(_MAX_ATTEMPTS):
            ticket = render(rng, index, slot)
            if ticket.text not in seen:
                break
        else:
            raise RuntimeError(f"no unseen text for {split} ticket {index} after "
                               f"{_MAX_ATTEMPTS} attempts")
        seen.add(ticket.text)
        meta = {"kind": slot.kind, "typo": slot.typo, "topic": ticket.topic,
                "created": created[index]}
        examples.append(Example(
            id=f"{split}-{index + 1:05d}",
            messages=(Message(role="system", content=SYSTEM_PROMPT),
                      Message(role="user", content=ticket.text)),
            reference=ticket.label, label=ticket.label, meta=meta,
        ))
    return examples


def build_datasets(seed: int = 0) -> dict[str, list[Example]]:
    """Train, eval, golden and ood splits of the ticket-routing example.

    The same seed gives the same examples, byte for byte. No text repeats within or
    across splits (compared in lower case with collapsed whitespace).
    """
    seen = _TextGuard()
    splits: dict[str, list[Example]] = {}
    for split in ("train", "eval"):
        rng = random.Random(f"tunegate-tickets:{seed}:{split}")
        size = SPLIT_SIZES[split] - (_OFFTOPIC_TRAIN if split == "train" else 0)
        vague = round(size * _VAGUE_SHARE)
        plan = _plan(rng, size, _quota(size - vague, _CLASS_SHARES), _KIND_SHARES, vague)
        dates = _TRAIN_DATES if split == "train" else _HELD_OUT_DATES
        splits[split] = _examples(
            split, rng, plan, lambda r, _, slot: _render_ticket(r, slot, golden=False),
            seen, dates,
        )
    rng = random.Random(f"tunegate-tickets:{seed}:golden")
    size = SPLIT_SIZES["golden"]
    plan = _plan(rng, size, dict.fromkeys(LABELS, size // len(LABELS)), _GOLDEN_KIND_SHARES, 0)
    splits["golden"] = _examples(
        "golden", rng, plan, lambda r, _, slot: _render_ticket(r, slot, golden=True),
        seen, _HELD_OUT_DATES,
    )
    offtopic = _off_topic("train-offtopic", seed, _OFFTOPIC_TRAIN, seen, _TRAIN_DATES)
    merged = sorted([*splits["train"], *offtopic], key=lambda e: str(e.meta["created"]))
    splits["train"] = [e.model_copy(update={"id": f"train-{i + 1:05d}"})
                       for i, e in enumerate(merged)]
    splits["ood"] = _off_topic("ood", seed, SPLIT_SIZES["ood"], seen, _HELD_OUT_DATES)
    return splits


def _off_topic(
    split: str, seed: int, size: int, seen: _TextGuard, dates: tuple[date, date]
) -> list[Example]:
    """Requests from other domains, spread evenly over the domains: all `other`."""
    rng = random.Random(f"tunegate-tickets:{seed}:{split}")
    topics = [t for t, n in _quota(size, dict.fromkeys(templates.OOD, 1.0)).items()
              for _ in range(n)]
    rng.shuffle(topics)
    typos = set(rng.sample(range(size), round(size * _TYPO_SHARE)))
    plan = [_Slot("other", "ood", i in typos) for i in range(size)]
    return _examples(split, rng, plan, lambda r, i, slot: _render_ood(r, slot, topics[i]),
                     seen, dates)


def write_datasets(root: Path, seed: int = 0) -> dict[str, Path]:
    """Write every split under `root` (paths in `SPLIT_FILES`) and return them by split."""
    paths: dict[str, Path] = {}
    for split, examples in build_datasets(seed).items():
        paths[split] = Path(root) / SPLIT_FILES[split]
        write_examples(paths[split], examples)
    return paths
