"""``tunegate probes generate``: writes probes and provenance, refuses to overwrite."""

from __future__ import annotations

import json
from pathlib import Path

from tunegate.cli import main
from tunegate.data import Example, file_sha256, load_examples, write_examples
from tunegate.probes import FAMILIES, build_probe_set, provenance_path


def write_source(path: Path, sources: list[Example]) -> Path:
    write_examples(path, sources)
    return path


def test_generate_writes_probes_and_provenance(sources, tmp_path, capsys) -> None:
    source = write_source(tmp_path / "eval.jsonl", sources)
    out = tmp_path / "probes" / "eval.jsonl"
    code = main(["probes", "generate", "--source", str(source), "--families",
                 "typos,ood", "--seed", "5", "--out", str(out)])
    assert code == 0
    probes = load_examples(out)
    assert [p.meta["probe_family"] for p in probes] == ["typos"] * 7 + ["ood"] * 7
    provenance = json.loads(provenance_path(out).read_text(encoding="utf-8"))
    assert provenance["source"] == {"path": str(source), "sha256": file_sha256(source),
                                    "count": 7}
    assert provenance["seed"] == 5
    assert provenance["families"] == ["typos", "ood"]
    assert provenance["counts"] == {"typos": 7, "ood": 7}
    assert provenance["count"] == 14
    assert provenance["sha256"] == file_sha256(out)
    assert provenance["tunegate"] == "0.1.0"
    assert provenance["created"].endswith("Z")
    assert provenance["labels"] == sorted({s.label for s in sources if s.label})
    printed = capsys.readouterr().out
    assert "typos\t7" in printed and f"provenance\t{provenance_path(out)}" in printed


def test_generate_refuses_to_overwrite_without_force(sources, tmp_path, capsys) -> None:
    source = write_source(tmp_path / "eval.jsonl", sources)
    out = tmp_path / "p.jsonl"
    args = ["probes", "generate", "--source", str(source), "--out", str(out)]
    assert main([*args, "--families", "casing"]) == 0
    before = out.read_bytes()
    assert main(args) == 1
    assert "pass --force" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main([*args, "--force"]) == 0
    assert {p.meta["probe_family"] for p in load_examples(out)} == set(FAMILIES)


def test_generate_is_byte_identical_for_the_same_seed(sources, tmp_path) -> None:
    source = write_source(tmp_path / "eval.jsonl", sources)
    for name in ("a", "b"):
        assert main(["probes", "generate", "--source", str(source), "--seed", "2",
                     "--out", str(tmp_path / f"{name}.jsonl")]) == 0
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert main(["probes", "generate", "--source", str(source), "--seed", "3",
                 "--out", str(tmp_path / "c.jsonl")]) == 0
    assert (tmp_path / "a.jsonl").read_bytes() != (tmp_path / "c.jsonl").read_bytes()


def test_generate_from_a_configured_split(sources, tmp_path) -> None:
    (tmp_path / "data").mkdir()
    write_source(tmp_path / "data" / "eval.jsonl", sources)
    config = tmp_path / "tunegate.toml"
    config.write_text(
        'base = "example"\ncandidate = "good"\nseed = 9\n'
        '[task]\nlabels = ["billing", "shipping", "spam"]\n'
        '[data]\neval = "data/eval.jsonl"\n', encoding="utf-8")
    code = main(["probes", "generate", "--config", str(config), "--families",
                 "label_injection"])
    assert code == 0
    out = tmp_path / "evals" / "probes" / "eval.jsonl"
    provenance = json.loads(provenance_path(out).read_text(encoding="utf-8"))
    assert provenance["seed"] == 9
    assert provenance["labels"] == ["billing", "shipping", "spam"]
    assert {p.meta["injected_label"] for p in load_examples(out)} <= {"billing", "shipping",
                                                                       "spam"}


def test_generate_reports_bad_input(sources, tmp_path, capsys) -> None:
    source = write_source(tmp_path / "eval.jsonl", sources)
    out = tmp_path / "p.jsonl"
    assert main(["probes", "generate", "--source", str(source), "--out", str(out),
                 "--families", "typos,nope"]) == 2
    assert "unknown probe family 'nope'" in capsys.readouterr().err
    assert main(["probes", "generate", "--source", str(tmp_path / "missing.jsonl"),
                 "--out", str(out)]) == 2
    assert "file not found" in capsys.readouterr().err
    assert not out.exists() and not provenance_path(out).exists()


def test_build_probe_set_counts(sources, tmp_path) -> None:
    source = write_source(tmp_path / "eval.jsonl", sources)
    built = build_probe_set(source, tmp_path / "p.jsonl", ["paraphrase", "casing"],
                            per_example=2)
    assert built.source_count == 7
    assert list(built.counts) == ["paraphrase", "casing"]
    assert built.counts["casing"] == 14
    assert sum(built.counts.values()) == len(load_examples(built.path))
