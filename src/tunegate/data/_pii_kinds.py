"""The kinds of personal data the hygiene checks detect (no heavy imports: the config
validates ``[tool.tunegate.hygiene].pii_kinds`` against it when it loads)."""

from __future__ import annotations

from typing import Final

PII_KINDS: Final = ("EMAIL", "IBAN", "CARD", "US_SSN", "UK_NINO", "IP_ADDRESS", "PHONE")
"""The kinds detected, in order of precedence when two findings overlap."""
