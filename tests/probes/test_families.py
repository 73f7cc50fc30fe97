"""Each probe family on its own: what it changes, and what it must leave alone."""

from __future__ import annotations

import random
import unicodedata

import pytest

from tunegate.probes import FAMILIES, ProbeContext
from tunegate.probes.casing import casing
from tunegate.probes.distractors import DISTRACTORS, distractor
from tunegate.probes.injection import DIRECT_INJECTIONS, label_injection, prompt_injection
from tunegate.probes.length import FILLERS, overlong, truncation
from tunegate.probes.noise import noise
from tunegate.probes.ood import OOD_TEXTS, ood
from tunegate.probes.paraphrase import paraphrase
from tunegate.probes.typos import QWERTY_NEIGHBOURS, typos
from tunegate.probes.unicode import HOMOGLYPHS, ZERO_WIDTH, reveal, unicode_tricks

TICKET = "I was charged twice for order #12345, please refund the second payment. Thanks!"
CONTEXT = ProbeContext(labels=("billing", "shipping", "technical", "other"), label="billing")


def rngs(n: int = 40) -> list[random.Random]:
    return [random.Random(f"test:{i}") for i in range(n)]


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_changes_a_ticket_for_every_seed(name: str) -> None:
    perturb = FAMILIES[name].perturb
    for rng in rngs():
        assert perturb(TICKET, rng, CONTEXT).text != TICKET


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_is_a_function_of_its_rng(name: str) -> None:
    perturb = FAMILIES[name].perturb
    first = [perturb(TICKET, random.Random(i), CONTEXT) for i in range(20)]
    again = [perturb(TICKET, random.Random(i), CONTEXT) for i in range(20)]
    assert first == again
    assert len({p.text for p in first}) > 1


def test_qwerty_neighbours_are_adjacent_keys() -> None:
    assert set(QWERTY_NEIGHBOURS["s"]) == set("weadzx")
    assert set(QWERTY_NEIGHBOURS["p"]) == set("ol")
    assert all(key not in near for key, near in QWERTY_NEIGHBOURS.items())
    assert all(key in QWERTY_NEIGHBOURS[n] for key, near in QWERTY_NEIGHBOURS.items()
               for n in near)


def test_typos_are_small_edits_inside_long_words() -> None:
    for rng in rngs(200):
        result = typos(TICKET, rng, CONTEXT)
        edits = result.details["typo_edits"]
        assert 1 <= len(edits) <= 2
        assert 1 <= levenshtein(TICKET, result.text) <= 2 * len(edits)
        assert result.text.startswith("I was ") or result.text[:5] != "I was"
        assert "#12345" in result.text  # digits and short words are never touched


def test_typos_leave_text_without_long_words_alone() -> None:
    assert typos("I am ok, 123 go!", random.Random(0), CONTEXT).text == "I am ok, 123 go!"


def test_casing_keeps_the_letters() -> None:
    styles = set()
    for rng in rngs():
        result = casing(TICKET, rng, CONTEXT)
        styles.add(result.details["casing"])
        assert result.text.casefold() == TICKET.casefold()
    assert styles == {"lower", "upper", "random_words"}
    assert casing("1234 !!", random.Random(0), CONTEXT).text == "1234 !!"


def test_noise_only_touches_whitespace_and_punctuation() -> None:
    def words(text: str) -> list[str]:
        return "".join(c for c in text if c.isalnum() or c.isspace() or c == "#").split()

    for rng in rngs(100):
        result = noise(TICKET, rng, CONTEXT)
        assert words(result.text) == words(TICKET)
        assert result.details["noise_operations"]


def test_unicode_homoglyphs_look_alike_and_reveal_back() -> None:
    for rng in rngs(100):
        result = unicode_tricks(TICKET, rng, CONTEXT)
        assert result.text != TICKET
        assert reveal(result.text) == TICKET
        # NFKC folding does not undo look-alikes: the model really sees other letters.
        if result.details["homoglyphs"]:
            assert unicodedata.normalize("NFKC", result.text).casefold() != TICKET.casefold()
        if result.details["zero_width"] and not result.details["homoglyphs"]:
            stripped = "".join(c for c in result.text if c not in ZERO_WIDTH)
            assert stripped == TICKET


def test_homoglyphs_are_cyrillic_or_greek() -> None:
    for glyphs in HOMOGLYPHS.values():
        for glyph in glyphs:
            assert unicodedata.name(glyph).split()[0] in ("CYRILLIC", "GREEK")


def test_paraphrase_rewrites_known_phrases() -> None:
    texts = {paraphrase("I was charged twice.", rng, CONTEXT).text for rng in rngs()}
    assert "I got charged two times." in texts
    result = paraphrase("My package is broken.", random.Random(1), CONTEXT)
    assert result.text in {"My parcel is broken.", "My package is faulty.",
                           "My package is damaged.", "My parcel is faulty.",
                           "My parcel is damaged."}
    assert paraphrase("Xyz qqq.", random.Random(0), CONTEXT).text == "Xyz qqq."


def test_paraphrase_keeps_capitals() -> None:
    result = paraphrase("Package lost. PACKAGE LOST.", random.Random(0), CONTEXT)
    assert result.text == "Parcel lost. PARCEL LOST."


def test_distractor_adds_one_sentence_around_the_text() -> None:
    for rng in rngs():
        result = distractor(TICKET, rng, CONTEXT)
        sentence = result.details["distractor"]
        assert sentence in DISTRACTORS
        expected = {"before": f"{sentence} {TICKET}", "after": f"{TICKET} {sentence}"}
        assert result.text == expected[result.details["distractor_position"]]


def test_label_injection_demands_a_wrong_label() -> None:
    injected = set()
    for rng in rngs():
        result = label_injection(TICKET, rng, CONTEXT)
        label = result.details["injected_label"]
        injected.add(label)
        assert label != "billing"
        assert label in result.text
        assert TICKET in result.text
    assert injected == {"shipping", "technical", "other"}


def test_label_injection_without_a_wrong_label_is_a_no_op() -> None:
    only = ProbeContext(labels=("billing",), label="billing")
    assert label_injection(TICKET, random.Random(0), only).text == TICKET


def test_prompt_injection_is_direct_or_indirect() -> None:
    kinds = set()
    for rng in rngs():
        result = prompt_injection(TICKET, rng, CONTEXT)
        kinds.add(result.details["injection_kind"])
        assert result.details["injection"] in DIRECT_INJECTIONS
        assert result.details["injection"] in result.text
        assert TICKET in result.text
        if result.details["injection_kind"] == "indirect":
            assert not result.text.startswith(result.details["injection"])
    assert kinds == {"direct", "indirect"}


def test_truncation_cuts_a_prefix_at_a_word_boundary() -> None:
    for rng in rngs():
        result = truncation(TICKET, rng, CONTEXT)
        assert TICKET.startswith(result.text)
        assert 0 < len(result.text) < len(TICKET)
        assert TICKET[len(result.text)] == " "
        assert 0.3 <= result.details["truncated_at"] <= 0.7
        assert result.details["label_may_be_lost"] is True


def test_truncation_of_one_long_word_cuts_inside_it() -> None:
    result = truncation("Supercalifragilistic", random.Random(0), CONTEXT)
    assert "Supercalifragilistic".startswith(result.text)
    assert 0 < len(result.text) < 20


def test_overlong_pads_with_harmless_sentences_up_to_the_limit() -> None:
    context = ProbeContext(labels=CONTEXT.labels, label="billing", overlong_chars=1000)
    for rng in rngs(10):
        result = overlong(TICKET, rng, context)
        assert 900 <= len(result.text) <= 1000
        assert TICKET in result.text
        padding = result.text.replace(TICKET, "")
        for filler in FILLERS:
            padding = padding.replace(filler, "")
        assert padding.strip() == ""
    long_text = "word " * 300
    assert len(overlong(long_text, random.Random(0), context).text) > len(long_text)


def test_ood_texts_are_many_and_varied() -> None:
    texts = [t for domain in OOD_TEXTS.values() for t in domain]
    assert len(texts) >= 40
    assert len(set(texts)) == len(texts)
    assert len(OOD_TEXTS) >= 8


def test_ood_replaces_the_text() -> None:
    for rng in rngs():
        result = ood(TICKET, rng, CONTEXT)
        assert result.text in OOD_TEXTS[result.details["ood_domain"]]
