"""Run record v2: round trip, v1 migration, clear errors, and the pieces a run merges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunegate.report.record import (
    SCHEMA_VERSION,
    RecordError,
    RunRecord,
    config_hash,
    read_run_record,
    suite_files,
    suite_hash,
    write_run_record,
)
from tunegate.report.run import RunPart, merge_parts, suite_record

V1_RECORD = {
    "schema_version": 1, "run_id": "20261124T043423-299bea",
    "started": "2026-11-24T04:30:00Z", "finished": "2026-11-24T04:34:23Z",
    "exit_status": 1, "passed": False, "seed": 5,
    "config": {"candidate": "good", "seed": 5, "name": "main"},
    "references": [{"role": "candidate", "base": "/b", "adapter": "/a", "fingerprint": "f"}],
    "gates": [{"test": "t.py::test_x", "name": "macro_f1", "passed": False, "status": "FAILED",
               "values": {"macro_f1": 0.5}, "thresholds": {"macro_f1": 0.8}, "reason": "",
               "error": None, "evidence": {}}],
    "environment": {"python": "3.11.7"},
}


def test_write_then_read_gives_the_same_record(tmp_path, record_factory):
    record = record_factory()
    path = write_run_record(record, tmp_path)
    assert path == tmp_path / "runs" / f"{record.run_id}.json"
    assert read_run_record(path) == record
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION == 3
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [path.name]  # no temp left


def test_non_finite_confidence_cannot_reach_the_file(tmp_path, record_factory):
    record = record_factory()
    record.examples[0].confidence = float("nan")
    text = write_run_record(record, tmp_path).read_text()
    assert "NaN" not in text
    assert read_run_record(tmp_path / "runs" / f"{record.run_id}.json").examples[0].confidence \
        is None


def test_version_1_record_loads_with_defaults_filled(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps(V1_RECORD))
    record = read_run_record(path)
    assert record.schema_version == SCHEMA_VERSION
    assert record.config_hash == config_hash(V1_RECORD["config"])
    assert record.seeds == {"gate": 5}
    assert record.tests == [] and record.examples == [] and record.suite is None
    assert record.decision == []
    assert record.references[0].adapter_sha256 is None
    assert record.gates[0].directions == {} and record.gates[0].values == {"macro_f1": 0.5}


def test_version_2_record_loads_without_a_decision_table(tmp_path, record_factory):
    data = json.loads(record_factory().model_dump_json())
    del data["decision"]
    path = tmp_path / "v2.json"
    path.write_text(json.dumps({**data, "schema_version": 2}))
    record = read_run_record(path)
    assert (record.schema_version, record.decision) == (SCHEMA_VERSION, [])


def test_newer_record_is_refused_naming_the_file(tmp_path, record_factory):
    path = write_run_record(record_factory(), tmp_path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(RecordError) as caught:
        read_run_record(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert f"schema_version {SCHEMA_VERSION + 1} is newer" in message


def test_bad_json_names_file_and_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "run_id": "x",\n  oops\n}')
    with pytest.raises(RecordError, match=rf"^{path}:3: not JSON: "):
        read_run_record(path)


def test_schema_violation_names_file_and_field(tmp_path, record_factory):
    path = write_run_record(record_factory(), tmp_path)
    data = json.loads(path.read_text())
    data["gates"][1]["passed"] = "perhaps"
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError, match=rf"^{path}: gates\.1\.passed: "):
        read_run_record(path)


def test_record_that_is_not_an_object_is_refused(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[]")
    with pytest.raises(RecordError, match="must be a JSON object"):
        read_run_record(path)


def test_config_hash_is_canonical():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def write_suite(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"# {name}\n")


def test_suite_is_the_common_folder_of_the_collected_modules(tmp_path):
    write_suite(tmp_path, ["suite/conftest.py", "suite/test_a.py", "suite/deep/b_test.py",
                           "suite/helpers.py", "suite/.hidden/test_h.py", "other/test_o.py"])
    collected = ["suite/test_a.py::test_1", "suite/test_a.py::test_2",
                 "suite/deep/b_test.py::test_3"]
    suite = suite_record(tmp_path, collected, ran_all=True, norecursedirs=[".*"])
    assert suite is not None
    assert suite.directory == "suite"
    assert suite.files == suite_files(tmp_path / "suite")
    assert suite.hash == suite_hash(suite.files)
    assert suite.complete is True


@pytest.mark.parametrize(("collected", "options"), [
    (["suite/test_a.py::test_1"], {}),  # deep/b_test.py did not contribute
    (["suite/test_a.py::test_1", "suite/deep/b_test.py::test_3"], {"deselected": 1}),
    (["suite/test_a.py::test_1", "suite/deep/b_test.py::test_3"], {"ran_all": False}),
])
def test_suite_is_incomplete_when_part_of_it_did_not_run(tmp_path, collected, options):
    write_suite(tmp_path, ["suite/test_a.py", "suite/deep/b_test.py"])
    suite = suite_record(tmp_path, collected, **{"ran_all": True, **options})
    assert suite is not None and suite.directory == "suite"
    assert suite.complete is False


def test_parts_merge_without_loss_or_duplication(record_factory):
    record = record_factory(examples=6)
    first = RunPart(config=record.config, report_dir="/r", references=record.references[:2],
                    gates=record.gates[:1], examples=record.examples[:4],
                    collected=["t.py::a", "t.py::b"], deselected=1)
    second = RunPart(config=record.config, report_dir="/r", references=record.references[1:],
                     gates=record.gates[1:], examples=record.examples[2:],
                     collected=["t.py::a", "t.py::b"], deselected=1)
    merged = merge_parts([RunPart(), first, second])
    assert merged.config == record.config
    assert merged.references == record.references
    assert merged.gates == record.gates
    assert merged.examples == record.examples
    assert merged.collected == ["t.py::a", "t.py::b"] and merged.deselected == 1


def test_record_model_refuses_a_newer_version_too(record_factory):
    data = record_factory().model_dump()
    with pytest.raises(ValueError, match="newer than this tunegate reads"):
        RunRecord.model_validate({**data, "schema_version": 99})


def test_suite_files_leave_out_hidden_folders_and_bytecode_caches(tmp_path):
    write_suite(tmp_path, ["test_a.py", "sub/test_b.py", ".venv/lib/test_x.py",
                           "__pycache__/test_a.py", "sub/__pycache__/c.py", "notes.txt"])
    assert sorted(suite_files(tmp_path)) == ["sub/test_b.py", "test_a.py"]
