"""``tunegate data check``: the table of checks and the exit codes (0, 1, 2)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tunegate.cli import main

LABELS = ("billing", "shipping", "technical")
CONFIG = """base = "example"
candidate = "good"
[task]
labels = ["billing", "shipping", "technical"]
[data]
eval = "eval.jsonl"
[hygiene]
"""


def tickets(n: int, prefix: str, seed: int, **meta: object) -> list[dict[str, object]]:
    """``n`` chat examples of random words (no two alike), labels in turn."""
    rng = random.Random(seed)
    words = [f"{a}{b}{i}" for i, (a, b) in enumerate(zip("bdfgklmnprstvz" * 40,
                                                          "aeiou" * 112, strict=False))]
    rows = []
    for i in range(n):
        text = " ".join(rng.choice(words) for _ in range(15))
        row: dict[str, object] = {"id": f"{prefix}-{i + 1}", "messages": [
            {"role": "system", "content": "Route the ticket."},
            {"role": "user", "content": text},
            {"role": "assistant", "content": LABELS[i % 3]}]}
        if meta:
            row["meta"] = {key: value[i] if isinstance(value, list) else value
                           for key, value in meta.items()}
        rows.append(row)
    return rows


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A clean train (18) and eval (6) set, in a folder without any tunegate config."""
    monkeypatch.chdir(tmp_path)
    return (write(tmp_path / "train.jsonl", tickets(18, "train", seed=1)),
            write(tmp_path / "eval.jsonl", tickets(6, "eval", seed=2)))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["data", "check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_data_passes_every_check(data: tuple[Path, Path], capsys) -> None:
    train, held_out = data
    code, out, err = run(capsys, str(train), "--against", str(held_out))
    assert (code, err) == (0, "")
    for check in ("chat_format", "duplicates", "leakage", "personal_data", "class_balance",
                  "label_drift"):
        assert f"{check} " in out
    assert "FAILED" not in out and "NOT EVALUATED" not in out
    assert "annotator_agreement" in out and "no second label column 'meta.label_2'" in out


def test_planted_problems_fail_with_file_and_line(data: tuple[Path, Path], capsys) -> None:
    train, held_out = data
    rows = [json.loads(line) for line in train.read_text().splitlines()]
    leaked = json.loads(held_out.read_text().splitlines()[2])
    rows.append({**leaked, "id": "copied-from-eval"})
    rows.append({**rows[4], "id": "repeat"})
    rows[7]["messages"][1]["content"] += " call +44 20 7946 0958"
    rows[8]["messages"] = rows[8]["messages"][:2]
    write(train, rows)
    code, out, _ = run(capsys, str(train), "--against", str(held_out))
    assert code == 1
    assert "leakage: FAILED" in out and "eval.jsonl:3" in out and "train.jsonl:19" in out
    assert "duplicates: FAILED" in out and "train.jsonl:20" in out
    assert "personal_data: FAILED" in out and "[PHONE]" in out and "7946" not in out
    assert "chat_format: FAILED" in out and "train.jsonl:9" in out


def test_probes_are_checked_for_leakage_only(data: tuple[Path, Path], tmp_path: Path,
                                             capsys) -> None:
    train, held_out = data
    probe_rows = tickets(4, "probe", seed=3)
    probe_rows[0]["messages"] = json.loads(train.read_text().splitlines()[0])["messages"]
    probes = write(tmp_path / "probes.jsonl", probe_rows)
    code, out, _ = run(capsys, str(train), "--against", str(held_out), "--probes", str(probes))
    assert code == 1
    assert "probes.jsonl:1" in out and "train.jsonl:1" in out
    drift_rows = [line for line in out.splitlines() if line.startswith("label_drift ")]
    assert len(drift_rows) == 1 and "probes" not in drift_rows[0]


def test_disagreeing_annotators_fail(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    second = [LABELS[i % 3] for i in range(18)]
    second[0] = second[1] = second[2] = "other"
    train = write(tmp_path / "train.jsonl", tickets(18, "t", seed=1, label_2=second))
    code, out, _ = run(capsys, str(train))
    assert code == 1
    assert "annotator_agreement: FAILED" in out and "train.jsonl:3" in out


def test_unreadable_line_exits_2_naming_file_and_line(data: tuple[Path, Path], capsys) -> None:
    train, _ = data
    lines = train.read_text().splitlines()
    lines[2] = lines[2][:-1]
    train.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, str(train))
    assert (code, out) == (2, "")
    assert f"{train}:3: invalid JSON" in err


def test_missing_file_exits_2(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, str(tmp_path / "nope.jsonl"))
    assert code == 2 and "nope.jsonl: file not found" in err


def test_config_thresholds_apply(data: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    train, held_out = data
    rows = [json.loads(line) for line in train.read_text().splitlines()]
    write(train, [*rows, {**rows[0], "id": "again"}])
    config = tmp_path / "tunegate.toml"
    config.write_text(CONFIG + "max_duplicate_share = 0.1\nmax_near_duplicate_share = 0.1\n")
    assert run(capsys, str(train), "--against", str(held_out))[0] == 0  # found upwards
    config.write_text(CONFIG)
    assert run(capsys, str(train), "--config", str(config))[0] == 1


def test_bad_config_exits_2_naming_line_and_field(data: tuple[Path, Path], tmp_path: Path,
                                                  capsys) -> None:
    train, _ = data
    config = tmp_path / "tunegate.toml"
    config.write_text(CONFIG + "min_class_share = 0.05\nmax_label_tv = 2\n")
    code, _, err = run(capsys, str(train), "--config", str(config))
    assert code == 2
    assert f"{config}:9: hygiene.max_label_tv:" in err
    config.write_text(CONFIG + 'pii_kinds = ["EMAIL", "PASSPORT"]\n')
    code, _, err = run(capsys, str(train), "--config", str(config))
    assert code == 2 and "hygiene.pii_kinds" in err and "PASSPORT" in err
