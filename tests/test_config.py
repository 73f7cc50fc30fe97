"""The gate configuration: validated before any model loads, errors located."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate.config import ConfigError, GateConfig, find_config, load_config

MINIMAL = """\
base = "example"
candidate = "good"

[task]
labels = ["a", "b"]

[data]
eval = "eval.jsonl"
"""


def write(tmp_path: Path, text: str, name: str = "tunegate.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_minimal_config_has_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.thresholds.golden_max_regression == 0.05
    assert config.production is None
    assert config.resolve(config.data.eval) == tmp_path / "eval.jsonl"
    assert config.training.r == 8


def test_pyproject_section(tmp_path):
    text = "[project]\nname='x'\n\n" + MINIMAL.replace("[task]", "[tool.tunegate.task]")
    text = text.replace("[data]", "[tool.tunegate.data]")
    text = text.replace('base = "example"', '[tool.tunegate]\nbase = "example"')
    config = load_config(write(tmp_path, text, "pyproject.toml"))
    assert config.task.labels == ("a", "b")


def test_the_repository_example_config_is_valid():
    config = load_config(Path(__file__).resolve().parents[1] / "pyproject.toml")
    assert config.candidate == "good"
    assert "other" in config.task.labels


@pytest.mark.parametrize(
    ("replace", "with_", "field", "reason"),
    [
        ('labels = ["a", "b"]', 'labels = ["a", "a"]', "task.labels", "distinct"),
        ('labels = ["a", "b"]', 'labels = ["a"]', "task.labels", "at least 2"),
        ('eval = "eval.jsonl"', 'eval = "eval.jsonl"\nholdout = "x"', "data.holdout",
         "Extra inputs"),
        ('candidate = "good"', 'candidate = "good"\nseed = "one"', "seed", "valid integer"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, replace, with_, field, reason):
    path = write(tmp_path, MINIMAL.replace(replace, with_))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.path == path
    assert error.field == field
    assert reason in error.reason
    key = field.split(".")[-1]
    expected_line = next(
        i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(key)
    )
    assert error.line == expected_line
    assert str(error).startswith(f"{path}:{expected_line}: {field}: ")


def test_threshold_out_of_range_is_located(tmp_path):
    path = write(tmp_path, MINIMAL + "\n[thresholds]\nmacro_f1 = 1.5\n")
    with pytest.raises(ConfigError, match=r"tunegate\.toml:11: thresholds\.macro_f1: "):
        load_config(path)


def test_missing_section_field(tmp_path):
    path = write(tmp_path, MINIMAL.replace('[data]\neval = "eval.jsonl"\n', ""))
    with pytest.raises(ConfigError, match="data: Field required"):
        load_config(path)


def test_toml_syntax_error_has_its_line(tmp_path):
    path = write(tmp_path, MINIMAL + "broken = \n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.line == 9


def test_overrides_are_validated(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.with_overrides(candidate="x", seed=3).seed == 3
    assert config.with_overrides(seed=None).seed == 0
    with pytest.raises(ConfigError, match="option seed"):
        config.with_overrides(seed="three")


def test_find_config_walks_upwards(tmp_path):
    write(tmp_path, MINIMAL)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_config(nested) == tmp_path / "tunegate.toml"
    (tmp_path / "a" / "pyproject.toml").write_text("[project]\nname='x'\n")
    assert find_config(nested) == tmp_path / "tunegate.toml"


def test_no_config_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_config(tmp_path) is None
    with pytest.raises(ConfigError, match=r"no tunegate\.toml"):
        load_config(None)


def test_config_round_trips(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert GateConfig.model_validate(config.model_dump()) == config.model_copy(
        update={"source": None}
    )
