"""Personal data: each kind found with its span, checked formats, no false positives on
the example's order numbers, prices and dates, and redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate.data.hygiene import PII_KINDS, detect_pii, read_records, redact, scan_records
from tunegate.data.hygiene._pii import iban_valid, luhn_valid

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("kind", "value"), [
    ("EMAIL", "jane.doe+tickets@example.co.uk"),
    ("EMAIL", "o'neil@mail.example.com".replace("'", "")),
    ("PHONE", "+44 20 7946 0958"),
    ("PHONE", "+1 (415) 555-0132"),
    ("PHONE", "+4915112345678"),
    ("PHONE", "(415) 555-0132"),
    ("PHONE", "415-555-0132"),
    ("PHONE", "1-800-555-0199"),
    ("PHONE", "020 7946 0958"),
    ("PHONE", "07700 900123"),
    ("CARD", "4111 1111 1111 1111"),
    ("CARD", "4111111111111111"),
    ("CARD", "5555-5555-5555-4444"),
    ("CARD", "3782 822463 10005"),
    ("IBAN", "DE89 3704 0044 0532 0130 00"),
    ("IBAN", "GB82WEST12345698765432"),
    ("IBAN", "GB82 WEST 1234 5698 7654 32"),
    ("IP_ADDRESS", "192.168.1.20"),
    ("IP_ADDRESS", "8.8.8.8"),
    ("IP_ADDRESS", "2001:db8::ff00:42:8329"),
    ("IP_ADDRESS", "fe80::1"),
    ("US_SSN", "536-22-8726"),
    ("UK_NINO", "AB 12 34 56 C"),
    ("UK_NINO", "JG103759A"),
])
def test_each_kind_is_found_with_its_span(kind: str, value: str) -> None:
    text = f"Hi, please note {value}. Thanks"
    [finding] = detect_pii(text)
    assert (finding.kind, finding.value) == (kind, value)
    assert text[finding.start:finding.end] == value


@pytest.mark.parametrize("text", [
    "Order 386448 arrived broken, ticket TG-152949, customer C911009.",  # example ids
    "I paid 101.99 on 2026-11-01 and 67.00 the day after; error E-403 at 10:30:45.",
    "123-456-7890 is no number: area codes never start with 1.",
    "4111 1111 1111 1112 fails the Luhn check.",
    "1234567812345670 passes Luhn but belongs to no card network.",
    "DE89 3704 0044 0532 0130 01 fails the mod-97 check.",
    "999.1.1.1 and 1.2.3 are not addresses.",
    "SSNs 666-12-3456, 900-12-3456, 123-00-4567 and 123-45-0000 are never issued.",
    "BG 12 34 56 C, DA123456C and AB123456E are not NI numbers.",
    "Call me maybe: 5551234567 is a bare digit run.",
])
def test_lookalikes_are_not_personal_data(text: str) -> None:
    assert detect_pii(text) == []


def test_checks_behind_the_negatives() -> None:
    assert luhn_valid("1234567812345670")  # so that it fails on the network alone
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000") and not iban_valid("DE89370400440532013001")


def test_overlaps_resolve_to_one_finding() -> None:
    text = "card 4111 1111 1111 1111, mail jane@example.com"
    assert [f.kind for f in detect_pii(text)] == ["CARD", "EMAIL"]


def test_redact_replaces_each_finding_with_its_kind() -> None:
    text = "Call +44 20 7946 0958 or mail jane@example.com; IBAN DE89 3704 0044 0532 0130 00."
    assert redact(text) == "Call [PHONE] or mail [EMAIL]; IBAN [IBAN]."
    assert redact(text, kinds=["EMAIL"]) == (
        "Call +44 20 7946 0958 or mail [EMAIL]; IBAN DE89 3704 0044 0532 0130 00.")
    assert redact("nothing here") == "nothing here"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown personal-data kinds"):
        detect_pii("x", kinds=["PASSPORT"])
    assert set(PII_KINDS) >= {"EMAIL", "PHONE", "CARD", "IBAN", "IP_ADDRESS", "US_SSN"}


def test_scan_names_record_field_and_span(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"id": "a", "messages": [{"role": "user", "content": "hi"}, '
        '{"role": "assistant", "content": "billing"}]}\n'
        '{"id": "b", "messages": [{"role": "user", "content": "mail me: x@example.org"}, '
        '{"role": "assistant", "content": "account"}]}\n', encoding="utf-8")
    [found] = scan_records(read_records(path).records)
    assert (found.record.id, found.record.line, found.field) == ("b", 2, "messages.0.content")
    assert (found.finding.kind, found.finding.start, found.finding.end) == ("EMAIL", 9, 22)


@pytest.mark.parametrize("name", ["train/tickets.jsonl", "evals/tickets_eval.jsonl",
                                  "golden/tickets_golden.jsonl", "evals/tickets_ood.jsonl",
                                  "train/extraction.jsonl"])
def test_example_data_has_no_findings(name: str) -> None:
    """The example's tickets hold order numbers, prices, dates and error codes, none
    of which is personal data."""
    path = ROOT / name
    if not path.is_file():
        pytest.skip(f"{name} is not in this checkout")
    assert scan_records(read_records(path).records) == []
