"""Personal data in text: detection with validity checks, and redaction.

Each kind is found by a pattern and then confirmed by the check its format carries,
so that order numbers, prices and dates are not reported: card numbers must pass the
Luhn check and match a card network's prefix and length, IBANs the per-country length
and the mod-97 check, IP addresses must parse (``ipaddress``), US social security
numbers must lie outside the never-issued ranges, phone numbers need a ``+`` country
code or a conventional grouping. A bare run of digits is none of these.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

from tunegate.data._pii_kinds import PII_KINDS
from tunegate.data.hygiene._records import Record

__all__ = ["PII_KINDS", "PiiFinding", "RecordFinding", "detect_pii", "redact", "scan_records"]



@dataclass(frozen=True)
class PiiFinding:
    """One piece of personal data: its kind and its span ``text[start:end]``."""

    kind: str
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class RecordFinding:
    """A finding in one field of one record."""

    record: Record
    field: str
    finding: PiiFinding


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w@-])"
)
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){11,18}(?![\w-])")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})(\d{2})(?=[ ]?[A-Z0-9])")
_SSN = re.compile(r"(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])")
_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"(?: ?\d{2}){3} ?[A-D](?![A-Za-z0-9])"
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
    r"(?![\w:])"
)
# (pattern, fewest digits, most digits); a number inside a longer run of digit groups
# ("3704 0044 0532 0130") is not a phone number.
_PHONES = (
    # international: +CC then groups, e.g. +44 20 7946 0958, +1 (415) 555-0132
    (re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w-]|[ .]\d)"), 8, 15),
    # North American grouping, e.g. (415) 555-0132, 415-555-0132, 1-800-555-0199
    (re.compile(r"(?<![\w+-])(?<!\d[ .])(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}"
                r"(?![\w-]|[ .]\d)"), 10, 11),
    # national with a trunk 0, e.g. 020 7946 0958, 07700 900123
    (re.compile(r"(?<![\w+-])(?<!\d[ .])0\d{2,4}[ -]\d{3,4}(?:[ -]?\d{3,4})?(?![\w-]|[ .]\d)"),
     10, 11),
)

# Lengths of the IBAN of each country in the SWIFT registry.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

# (prefixes, lengths) of card networks: Visa, Mastercard, Amex, Discover, JCB,
# Diners Club, UnionPay, Maestro.
_CARD_NETWORKS: tuple[tuple[tuple[tuple[int, int], ...], frozenset[int]], ...] = (
    (((4, 4),), frozenset({13, 16, 19})),
    (((51, 55), (2221, 2720)), frozenset({16})),
    (((34, 34), (37, 37)), frozenset({15})),
    (((6011, 6011), (644, 649), (65, 65)), frozenset({16, 17, 18, 19})),
    (((3528, 3589),), frozenset({16, 17, 18, 19})),
    (((300, 305), (36, 36), (38, 39)), frozenset({14, 15, 16, 17, 18, 19})),
    (((62, 62),), frozenset({16, 17, 18, 19})),
    (((50, 50), (56, 69)), frozenset(range(12, 20))),
)
_CARD_GROUPS = {(4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3), (4, 4, 4, 1)}


def detect_pii(text: str, kinds: Collection[str] | None = None) -> list[PiiFinding]:
    """The personal data in ``text``, in order, overlaps resolved by precedence.

    ``kinds`` limits the search (default: all of :data:`PII_KINDS`).
    """
    wanted = _wanted(kinds)
    found = [f for kind in wanted for f in _DETECTORS[kind](text)]
    found.sort(key=lambda f: (f.start, -(f.end - f.start), PII_KINDS.index(f.kind)))
    kept: list[PiiFinding] = []
    for finding in found:
        if kept and finding.start < kept[-1].end:
            if PII_KINDS.index(finding.kind) < PII_KINDS.index(kept[-1].kind) and \
                    finding.end - finding.start >= kept[-1].end - kept[-1].start:
                kept[-1] = finding
            continue
        kept.append(finding)
    return kept


def redact(text: str, kinds: Collection[str] | None = None) -> str:
    """``text`` with each piece of personal data replaced by ``[KIND]``."""
    for finding in reversed(detect_pii(text, kinds)):
        text = f"{text[:finding.start]}[{finding.kind}]{text[finding.end:]}"
    return text


def scan_records(
    records: Sequence[Record], kinds: Collection[str] | None = None
) -> list[RecordFinding]:
    """Every finding in every text field of ``records``, in file order."""
    return [
        RecordFinding(record, field, finding)
        for record in records
        for field, content in record.contents
        for finding in detect_pii(content, kinds)
    ]


def _wanted(kinds: Collection[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return PII_KINDS
    unknown = sorted(set(kinds) - set(PII_KINDS))
    if unknown:
        raise ValueError(f"unknown personal-data kinds {unknown}; kinds: {', '.join(PII_KINDS)}")
    return tuple(kind for kind in PII_KINDS if kind in kinds)


def _emails(text: str) -> Iterator[PiiFinding]:
    for m in _EMAIL.finditer(text):
        yield PiiFinding("EMAIL", m.start(), m.end(), m.group())


def _cards(text: str) -> Iterator[PiiFinding]:
    for m in _CARD.finditer(text):
        value = m.group()
        digits = re.sub(r"\D", "", value)
        groups = tuple(len(g) for g in re.split(r"[ -]", value))
        if len(groups) > 1 and (groups not in _CARD_GROUPS or len(set(re.findall(r"[ -]",
                                                                                   value))) > 1):
            continue
        if _card_network(digits) and luhn_valid(digits):
            yield PiiFinding("CARD", m.start(), m.end(), value)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _card_network(digits: str) -> bool:
    for ranges, lengths in _CARD_NETWORKS:
        if len(digits) in lengths and any(
            low <= int(digits[: len(str(low))]) <= high for low, high in ranges
        ):
            return True
    return False


def _ibans(text: str) -> Iterator[PiiFinding]:
    for m in _IBAN_START.finditer(text):
        length = _IBAN_LENGTHS.get(m.group(1))
        if length is None:
            continue
        chars, end = _take_alnum(text, m.start(), length)
        if len(chars) == length and not text[end:end + 1].isalnum() and iban_valid(chars):
            yield PiiFinding("IBAN", m.start(), end, text[m.start():end])


def _take_alnum(text: str, start: int, count: int) -> tuple[str, int]:
    """Up to ``count`` uppercase letters and digits from ``start``, single spaces skipped."""
    chars: list[str] = []
    i = start
    while i < len(text) and len(chars) < count:
        char = text[i]
        if char == " " and chars and i + 1 < len(text) and text[i + 1] != " ":
            i += 1
            continue
        if not (char.isdigit() or "A" <= char <= "Z"):
            break
        chars.append(char)
        i += 1
    return "".join(chars), i


def iban_valid(iban: str) -> bool:
    """The ISO 13616 mod-97 check of an IBAN without spaces."""
    moved = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def _ssns(text: str) -> Iterator[PiiFinding]:
    for m in _SSN.finditer(text):
        area, group, serial = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if area in (0, 666) or area >= 900 or group == 0 or serial == 0:
            continue
        yield PiiFinding("US_SSN", m.start(), m.end(), m.group())


def _ninos(text: str) -> Iterator[PiiFinding]:
    for m in _NINO.finditer(text):
        yield PiiFinding("UK_NINO", m.start(), m.end(), m.group())


def _ips(text: str) -> Iterator[PiiFinding]:
    for m in _IPV4.finditer(text):
        if _parses(m.group()):
            yield PiiFinding("IP_ADDRESS", m.start(), m.end(), m.group())
    for m in _IPV6.finditer(text):
        value = m.group()
        if len(re.findall(r"[0-9A-Fa-f]+", value)) >= 2 and _parses(value):
            yield PiiFinding("IP_ADDRESS", m.start(), m.end(), value)


def _parses(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _phones(text: str) -> Iterator[PiiFinding]:
    seen: set[tuple[int, int]] = set()
    for pattern, fewest, most in _PHONES:
        for m in pattern.finditer(text):
            digits = len(re.sub(r"\D", "", m.group()))
            if fewest <= digits <= most and (m.start(), m.end()) not in seen \
                    and _nanp_ok(m.group()):
                seen.add((m.start(), m.end()))
                yield PiiFinding("PHONE", m.start(), m.end(), m.group())


def _nanp_ok(value: str) -> bool:
    """A North American number's area code and exchange cannot start with 0 or 1."""
    if value.startswith(("+", "0")) and not value.startswith("+1"):
        return True
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return len(digits) != 10 or (digits[0] not in "01" and digits[3] not in "01")


_DETECTORS: dict[str, Callable[[str], Iterator[PiiFinding]]] = {
    "EMAIL": _emails,
    "IBAN": _ibans,
    "CARD": _cards,
    "US_SSN": _ssns,
    "UK_NINO": _ninos,
    "IP_ADDRESS": _ips,
    "PHONE": _phones,
}
