"""Small ticket-like examples shared by the probe tests."""

from __future__ import annotations

import pytest

from tunegate.data import Example, Message

LABELS = ("billing", "shipping", "technical", "account", "returns", "other")
SYSTEM = "Route the support ticket to one team."
TEXTS = (
    ("I was charged twice for order #12345, please refund one.", "billing"),
    ("My package still hasn't arrived and the tracking page says nothing.", "shipping"),
    ("The app keeps crashing when I open the settings page.", "technical"),
    ("I can't log in, my password reset email never comes.", "account"),
    ("Can I return the wool sweater? It's the wrong size.", "returns"),
    ("Hello team, please fix this, it's the second time I write. Thanks.", "other"),
)


@pytest.fixture
def sources() -> list[Example]:
    """Six chat examples, one per label, and one plain-prompt example."""
    chats = [
        Example(
            id=f"t{i}",
            messages=(Message(role="system", content=SYSTEM), Message(role="user", content=t)),
            reference=label,
            meta={"kind": "plain"},
        )
        for i, (t, label) in enumerate(TEXTS, start=1)
    ]
    plain = Example(id="p1", prompt="My invoice shows the wrong amount for May.",
                    reference="billing")
    return [*chats, plain]
