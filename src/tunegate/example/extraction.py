"""The example's second task: strict-JSON extraction from the same support tickets.

Each ticket becomes one JSON object with the team (``category``), the product it is
about, the order number (digits only), the urgency the customer signals, and a short
``summary``. The fields come from how the ticket was rendered, so every reference is
exact; the summary is a canonical phrase of the ticket's subtopic, which a model can
only paraphrase well if it understood the ticket.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from tunegate.data import Example, Message, write_examples
from tunegate.example import tickets
from tunegate.example.tickets import (
    LABELS,
    _examples,
    _plan,
    _quota,
    _render_ticket,
    _Slot,
    _TextGuard,
)

__all__ = [
    "EXACT_FIELDS",
    "SCHEMA",
    "SPLIT_FILES",
    "SYSTEM_PROMPT",
    "TEXT_FIELDS",
    "build_datasets",
    "extract_fields",
    "write_datasets",
]

SYSTEM_PROMPT = (
    "Extract the support ticket as one JSON object with the keys category, product, "
    "order_id, urgency and summary."
)
EXACT_FIELDS: Final = ("category", "product", "order_id", "urgency")
TEXT_FIELDS: Final = ("summary",)
URGENCY: Final = ("low", "normal", "high")

SPLIT_SIZES: Final[Mapping[str, int]] = {"train": 900, "eval": 300, "golden": 150}
SPLIT_FILES: Final[Mapping[str, str]] = {
    "train": "train/extraction.jsonl",
    "eval": "evals/extraction_eval.jsonl",
    "golden": "golden/extraction_golden.jsonl",
    "schema": "evals/extraction.schema.json",
}

SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Support ticket extraction",
    "type": "object",
    "additionalProperties": False,
    "required": ["category", "product", "order_id", "urgency", "summary"],
    "properties": {
        "category": {"enum": list(LABELS)},
        "product": {"type": ["string", "null"], "minLength": 1},
        "order_id": {"type": ["string", "null"], "pattern": "^[0-9]{5,6}$"},
        "urgency": {"enum": list(URGENCY)},
        "summary": {"type": "string", "minLength": 3, "maxLength": 120},
    },
}

_PRODUCT_SLOTS: Final = ("product", "gadget", "device")
_URGENCY_SHARES: Final = {"high": 0.2, "low": 0.15, "normal": 0.65}
_URGENCY_CUES: Final[Mapping[str, tuple[str, ...]]] = {
    "high": (
        "This is urgent!", "Please help ASAP.", "I need this sorted today.",
        "URGENT, please respond quickly.", "This is really urgent for me.",
    ),
    "low": (
        "No rush at all.", "Whenever you have time.", "Low priority, just letting you know.",
        "No hurry on this one.",
    ),
}
_SUMMARIES: Final[Mapping[str, str]] = {
    "double_charge": "charged twice",
    "invoice": "needs an invoice",
    "payment_failed": "payment failed",
    "subscription_price": "question about subscription price",
    "wrong_amount": "charged the wrong amount",
    "not_arrived": "order has not arrived",
    "delayed": "delivery is delayed",
    "tracking": "tracking does not update",
    "address_change": "wants to change the delivery address",
    "delivery_options": "asks about delivery options",
    "app_crash": "app crashes",
    "website_error": "website shows an error",
    "feature_bug": "a feature does not work",
    "performance": "app or site is slow",
    "connectivity": "device cannot connect or update",
    "login_failed": "cannot log in",
    "password_reset": "password reset fails",
    "locked": "account is locked",
    "profile_update": "wants to update profile details",
    "account_deletion": "wants the account deleted",
    "security": "suspicious account activity",
    "return_request": "wants to return an item",
    "refund_status": "asks about a refund",
    "exchange": "wants an exchange",
    "return_label": "needs a return label",
    "faulty_item": "received a faulty item",
    "job_application": "job application",
    "sales_pitch": "sales pitch",
    "spam": "spam message",
    "press": "press enquiry",
    "feedback": "general feedback",
    "unsupported_request": "request we do not support",
    "vague": "unclear request",
}
_DIGITS: Final = re.compile(r"\d+")


def extract_fields(
    values: Mapping[str, str], label: str, topic: str, urgency: str
) -> dict[str, Any]:
    """The reference JSON object of a ticket rendered with these slot values."""
    product = next((v for k, v in values.items() if k.rstrip("0123456789") in _PRODUCT_SLOTS),
                   None)
    order = next((v for k, v in values.items() if k.rstrip("0123456789") == "order"), None)
    order_match = _DIGITS.search(order) if order else None
    summary = _SUMMARIES[topic] + (f" ({product})" if product else "")
    return {
        "category": label,
        "product": product,
        "order_id": order_match.group(0) if order_match else None,
        "urgency": urgency,
        "summary": summary,
    }


def _with_urgency(rng: random.Random, text: str, urgency: str) -> str:
    """The ticket with its urgency cue, before or after the body."""
    if urgency == "normal":
        return text
    cue = rng.choice(_URGENCY_CUES[urgency])
    return f"{cue} {text}" if rng.random() < 0.3 else f"{text} {cue}"


def _split(split: str, seed: int, size: int, golden: bool, seen: _TextGuard) -> list[Example]:
    rng = random.Random(f"tunegate-extraction:{seed}:{split}")
    if golden:
        shares = {"plain": 0.65, "negation": 0.35}
        plan = _plan(rng, size, dict.fromkeys(LABELS, size // len(LABELS)), shares, 0)
    else:
        vague = round(size * 0.05)
        plan = _plan(rng, size, _quota(size - vague, tickets._CLASS_SHARES),
                     tickets._KIND_SHARES, vague)
    urgencies = [u for u, n in _quota(size, _URGENCY_SHARES).items() for _ in range(n)]
    rng.shuffle(urgencies)
    fields: dict[int, dict[str, Any]] = {}

    def render(r: random.Random, index: int, slot: _Slot) -> tickets._Ticket:
        ticket = _render_ticket(r, slot, golden=golden)
        text = _with_urgency(r, ticket.text, urgencies[index])
        fields[index] = extract_fields(ticket.values, ticket.label, ticket.topic,
                                       urgencies[index])
        return tickets._Ticket(text, ticket.label, ticket.topic, ticket.values)

    dates = tickets._TRAIN_DATES if split == "train" else tickets._HELD_OUT_DATES
    examples = _examples(split, rng, plan, render, seen, dates)
    out = []
    for index, example in enumerate(examples):
        assert example.messages is not None
        answer = json.dumps(fields[index], ensure_ascii=False)
        out.append(example.model_copy(update={
            "id": example.id.replace(split, f"x{split}", 1),
            "messages": (Message(role="system", content=SYSTEM_PROMPT), example.messages[1]),
            "reference": answer,
            "label": None,
            "meta": {**example.meta, "urgency": urgencies[index]},
        }))
    return out


def build_datasets(seed: int = 0) -> dict[str, list[Example]]:
    """Train, eval and golden splits of the extraction example; same seed, same bytes."""
    seen = _TextGuard()
    return {
        split: _split(split, seed, size, split == "golden", seen)
        for split, size in SPLIT_SIZES.items()
    }


def write_datasets(root: Path, seed: int = 0) -> dict[str, Path]:
    """Write the splits and the JSON Schema under ``root``; return their paths."""
    paths: dict[str, Path] = {}
    for split, examples in build_datasets(seed).items():
        paths[split] = Path(root) / SPLIT_FILES[split]
        write_examples(paths[split], examples)
    schema_path = Path(root) / SPLIT_FILES["schema"]
    schema_path.write_text(json.dumps(SCHEMA, indent=2) + "\n", encoding="utf-8")
    paths["schema"] = schema_path
    return paths
