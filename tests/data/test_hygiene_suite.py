"""suites/test_data.py run by pytester on a copy of the example's data: it passes on a
clean copy and fails, naming file:line, on planted leakage, personal data, duplicates
and a broken chat turn. No model is loaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
LABELS = ("billing", "shipping", "technical", "account", "returns", "other")
SPLITS = {"train": "train/tickets.jsonl", "eval": "evals/tickets_eval.jsonl",
          "golden": "golden/tickets_golden.jsonl", "ood": "evals/tickets_ood.jsonl"}
CONFIG = f"""base = "example"
candidate = "good"
[task]
labels = {json.dumps(list(LABELS))}
[data]
{"".join(f'{split} = "{path}"{chr(10)}' for split, path in SPLITS.items())}"""


@pytest.fixture(scope="module")
def example_present() -> None:
    if not all((ROOT / path).is_file() for path in SPLITS.values()):
        pytest.skip("the example's data is not in this checkout")


@pytest.fixture
def project(pytester: pytest.Pytester, example_present: None) -> Path:
    """A copy of the example's data, clean by construction (the generator refuses any
    text that repeats an earlier one, exactly or nearly), and of suites/test_data.py."""
    root = pytester.path
    for path in SPLITS.values():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, root / path)
    (root / "tunegate.toml").write_text(CONFIG, encoding="utf-8")
    shutil.copy(ROOT / "suites" / "test_data.py", root / "test_data.py")
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    return root


def write_rows(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def read_rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_passes_on_clean_data_without_loading_a_model(pytester, project: Path) -> None:
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=14, skipped=2)
    result.stdout.fnmatch_lines_random(["*no second label column 'meta.label_2'*",
                                        "*no probe files listed (hygiene.leakage_sets)*"])
    [record] = (project / "reports" / "runs").glob("*.json")
    data = json.loads(record.read_text())
    assert data["passed"] and data["references"] == []
    assert len(data["gates"]) == 14


def test_fails_on_planted_problems_naming_file_and_line(pytester, project: Path) -> None:
    train = read_rows(project / SPLITS["train"])
    evals = read_rows(project / SPLITS["eval"])
    planted_at = len(train) + 1
    train.append({**evals[10], "id": "leaked-eval-11"})  # eval line 11, verbatim
    train += [{**row, "id": f"repeat-{n}"} for n, row in enumerate(train[:40])]
    train[5]["messages"] = train[5]["messages"][:2]  # no answer turn
    evals[20]["messages"][1]["content"] += " Reach me at jane.doe@example.com."
    write_rows(project / SPLITS["train"], train)
    write_rows(project / SPLITS["eval"], evals)
    write_rows(project / "probes.jsonl", [{**train[30], "id": "probe-from-train"}])
    with (project / "tunegate.toml").open("a", encoding="utf-8") as config:
        config.write('[hygiene]\nleakage_sets = ["probes.jsonl"]\n')

    result = pytester.runpytest_subprocess("-rf")
    failed = {line.split()[1].split("::")[-1] for line in result.stdout.lines
              if line.startswith("FAILED ")}
    assert failed == {"test_chat_format[train]", "test_no_duplicates_in_train",
                      "test_no_leakage[eval]", "test_no_leakage_into_probe_files",
                      "test_no_personal_data[eval]"}
    result.stdout.fnmatch_lines_random([
        f"*evals/tickets_eval.jsonl:11*leaked-eval-11*train/tickets.jsonl:{planted_at} *exact*",
        "*train/tickets.jsonl:6 *messages.1.role*must end with an assistant turn*",
        f"*repeat-0 *train/tickets.jsonl:{planted_at + 1} *train/tickets.jsonl:1",
        "*evals/tickets_eval.jsonl:21 *messages.1.content*EMAIL*Reach me at [[]EMAIL[]].",
        "*probe-from-train *probes.jsonl:1 *train/tickets.jsonl:31 *exact*",
    ])
    assert "jane.doe@example.com" not in result.stdout.str()
