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


def test_judge_option_sets_server_and_model_and_keeps_the_rest(tmp_path):
    text = MINIMAL + '[judge]\nmin_kappa = 0.7\n[judge.openai]\nbase_url = "http://a/v1"\n' \
        'api_key_env = "JUDGE_KEY"\n'
    config = load_config(write(tmp_path, text))
    judged = config.with_judge("http://127.0.0.1:8000/v1, my-judge")
    assert judged.judge.openai is not None
    assert judged.judge.openai.base_url == "http://127.0.0.1:8000/v1"
    assert judged.judge.openai.api_key_env == "JUDGE_KEY"
    assert (judged.judge.model, judged.judge.min_kappa) == ("my-judge", 0.7)
    assert config.with_judge(None) is config


@pytest.mark.parametrize("spec", ["http://127.0.0.1:8000/v1", ",judge", "ftp://x,judge"])
def test_judge_option_errors_name_the_option(tmp_path, spec):
    config = load_config(write(tmp_path, MINIMAL))
    with pytest.raises(ConfigError, match="option --tg-judge"):
        config.with_judge(spec)


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


# Further tasks: [tasks.<name>] sub-gates

MINIMAL_WITH_KIND = MINIMAL.replace("[task]\n", '[task]\nkind = "classification"\n')

SUBGATE = """\
base = "example"
candidate = "good"
production = "production"
seed = 7
cache_dir = "mycache"

[task]
kind = "classification"
labels = ["a", "b"]

[data]
eval = "eval.jsonl"

[thresholds]
macro_f1 = 0.5

[training]
r = 4
epochs = 2

[tasks.extraction]
candidate = "extract-good"
production = "extract-production"
training = { epochs = 5, learning_rate = 0.01 }

[tasks.extraction.task]
kind = "extraction"
json_schema = "schema.json"
exact_fields = ["category", "urgency"]
text_fields = ["summary"]

[tasks.extraction.data]
train = "x_train.jsonl"
eval = "x_eval.jsonl"
golden = "x_golden.jsonl"

[tasks.extraction.thresholds]
json_validity = 0.9
schema_validity = 0.8
golden_require_significance = true
rouge_l = 0.5
field_accuracy = { category = 0.8, urgency = 0.7 }
"""


def as_pyproject(text: str) -> str:
    """The same configuration as [tool.tunegate] tables of a pyproject.toml."""
    lines = ["[project]", "name = 'x'", "", "[tool.tunegate]"]
    for line in text.splitlines():
        lines.append(line.replace("[", "[tool.tunegate.", 1) if line.startswith("[") else line)
    return "\n".join(lines) + "\n"


def line_of(path: Path, start: str) -> int:
    return next(
        i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(start)
    )


def test_subgate_loads_from_pyproject(tmp_path):
    config = load_config(write(tmp_path, as_pyproject(SUBGATE), "pyproject.toml"))
    assert list(config.tasks) == ["extraction"]
    sub = config.tasks["extraction"]
    assert (sub.candidate, sub.production) == ("extract-good", "extract-production")
    assert sub.task.kind == "extraction"
    assert sub.task.json_schema == Path("schema.json")
    assert sub.task.exact_fields == ("category", "urgency")
    assert sub.task.text_fields == ("summary",)
    assert sub.task.max_new_tokens == 128
    assert sub.data.golden == Path("x_golden.jsonl")
    assert sub.thresholds.json_validity == 0.9
    assert sub.thresholds.schema_validity == 0.8
    assert sub.thresholds.golden_require_significance is True
    assert sub.thresholds.golden_alpha == 0.05
    assert sub.thresholds.rouge_l == 0.5
    assert sub.thresholds.bertscore_f1 is None
    assert sub.thresholds.field_accuracy == {"category": 0.8, "urgency": 0.7}
    assert sub.training == {"epochs": 5, "learning_rate": 0.01}
    # the main gate is untouched by its further task
    assert config.task.kind == "classification"
    assert config.thresholds.json_validity == 0.99
    assert config.thresholds.schema_validity is None  # the suite then holds it to 0.99 too
    assert config.thresholds.golden_require_significance is False
    assert config.thresholds.field_accuracy == {}
    assert config.name == "main"


def test_for_task_is_a_gate_of_its_own(tmp_path):
    path = write(tmp_path, SUBGATE)
    config = load_config(path)
    sub = config.for_task("extraction")
    assert isinstance(sub, GateConfig)
    assert sub.name == "extraction"
    assert sub.tasks == {}
    # from the sub-gate
    assert (sub.candidate, sub.production) == ("extract-good", "extract-production")
    assert sub.task == config.tasks["extraction"].task
    assert sub.data == config.tasks["extraction"].data
    assert sub.thresholds == config.tasks["extraction"].thresholds
    assert sub.thresholds.macro_f1 == 0.80  # the default, not the parent's 0.5
    # from the parent
    assert (sub.base, sub.seed, sub.cache_dir) == ("example", 7, Path("mycache"))
    assert sub.report_dir == config.report_dir
    assert sub.backend == config.backend
    assert sub.source == path.resolve()
    assert sub.resolve(sub.data.eval) == tmp_path / "x_eval.jsonl"
    # training: the parent's, with the task's overrides on top
    assert sub.training.r == 4
    assert sub.training.epochs == 5
    assert sub.training.learning_rate == 0.01
    assert config.training.epochs == 2
    assert config.training.learning_rate == 0.003


def test_for_task_without_a_production_has_none(tmp_path):
    config = load_config(write(tmp_path, SUBGATE.replace('production = "extract-production"\n',
                                                         "")))
    assert config.production == "production"
    assert config.for_task("extraction").production is None


def test_unknown_task_is_a_config_error(tmp_path):
    path = write(tmp_path, SUBGATE)
    config = load_config(path)
    with pytest.raises(ConfigError) as caught:
        config.for_task("summaries")
    assert caught.value.field == "tasks.summaries"
    assert caught.value.path == path.resolve()
    assert "no such task configured (tasks: extraction)" in caught.value.reason
    with pytest.raises(ConfigError, match=r"tasks\.summaries: no such task configured"):
        config.with_task_overrides("summaries", candidate="x")
    with pytest.raises(ConfigError, match=r"tasks\.extraction: .*\(tasks: none\)"):
        load_config(write(tmp_path, MINIMAL_WITH_KIND)).for_task("extraction")


@pytest.mark.parametrize("name", ["tunegate.toml", "pyproject.toml"])
@pytest.mark.parametrize(
    ("replace", "with_", "field", "reason", "key"),
    [
        ("json_validity = 0.9", "json_validity = 1.5", "thresholds.json_validity",
         "less than or equal to 1", "json_validity"),
        ("category = 0.8", "category = 2", "thresholds.field_accuracy",
         "field accuracy floors must be in [0, 1]: category=2.0", "field_accuracy"),
        ("rouge_l = 0.5", "rouge_l = -0.1", "thresholds.rouge_l", "greater than or equal to 0",
         "rouge_l"),
        ("json_validity = 0.9", "json_validity = 0.9\nmacro_f11 = 0.3", "thresholds.macro_f11",
         "Extra inputs", "macro_f11"),
    ],
)
def test_subgate_errors_name_line_and_dotted_field(tmp_path, name, replace, with_, field,
                                                   reason, key):
    text = SUBGATE.replace(replace, with_)
    path = write(tmp_path, text if name == "tunegate.toml" else as_pyproject(text), name)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    prefix = "" if name == "tunegate.toml" else "tool.tunegate."
    assert error.field == f"{prefix}tasks.extraction.{field}"
    assert reason in error.reason
    assert error.line == line_of(path, f"{key} =")
    assert str(error).startswith(f"{path}:{error.line}: {prefix}tasks.extraction.")


def test_extraction_task_needs_exact_fields(tmp_path):
    path = write(tmp_path, SUBGATE.replace('exact_fields = ["category", "urgency"]\n', ""))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert error.reason == "Field required"
    # the field as the user wrote it (no discriminator tag in it), located at its table
    assert error.field == "tasks.extraction.task.exact_fields"
    assert error.line == line_of(path, "[tasks.extraction.task]")


def test_extraction_task_exact_fields_must_not_be_empty(tmp_path):
    path = write(tmp_path, SUBGATE.replace('["category", "urgency"]', "[]"))
    with pytest.raises(ConfigError, match="at least 1 item") as caught:
        load_config(path)
    assert caught.value.field == "tasks.extraction.task.exact_fields"
    assert caught.value.line == line_of(path, "exact_fields")


def test_unknown_task_kind_is_an_error(tmp_path):
    path = write(tmp_path, SUBGATE.replace('kind = "extraction"', 'kind = "extract"'))
    with pytest.raises(ConfigError, match="'classification', 'extraction'") as caught:
        load_config(path)
    assert caught.value.field == "tasks.extraction.task"


def test_classification_kind_may_be_left_out_beside_further_tasks(tmp_path):
    """``kind`` defaults to classification: configurations written before it still load."""
    config = load_config(write(tmp_path, SUBGATE.replace('kind = "classification"\n', "")))
    assert config.task.kind == "classification"
    assert config.task.labels == ("a", "b")


def test_subgate_training_overrides_are_checked_when_loaded(tmp_path):
    path = write(tmp_path, SUBGATE.replace("epochs = 5,", 'epochs = "five",'))
    with pytest.raises(ConfigError, match=r"tasks\.extraction\.training\.epochs: ") as error:
        load_config(path)
    assert error.value.line == next(
        n for n, line in enumerate(path.read_text().splitlines(), 1) if '"five"' in line
    )


def test_with_task_overrides_changes_only_that_task(tmp_path):
    config = load_config(write(tmp_path, SUBGATE))
    changed = config.with_task_overrides("extraction", candidate="my-adapter", production=None)
    assert changed.tasks["extraction"].candidate == "my-adapter"
    assert changed.tasks["extraction"].production == "extract-production"  # None keeps
    assert changed.tasks["extraction"].model_copy(update={"candidate": "extract-good"}) == (
        config.tasks["extraction"]
    )
    assert changed.model_copy(update={"tasks": config.tasks}) == config
    assert (changed.candidate, changed.production) == ("good", "production")
    assert changed.source == config.source
    assert changed.for_task("extraction").candidate == "my-adapter"
    assert config.tasks["extraction"].candidate == "extract-good"  # the original is frozen
    with pytest.raises(ConfigError, match=r"option tasks\.extraction\.thresholds\.json_validity"):
        config.with_task_overrides("extraction", thresholds={"json_validity": 2})


def test_baselines_and_cost_are_validated_with_their_field(tmp_path):
    base = ('base = "m"\ncandidate = "c"\n[task]\nlabels = ["a", "b"]\n'
            '[data]\neval = "e.jsonl"\n')
    config = load_config(write(tmp_path, base + '[baselines.8-shot]\nshots = 8\n'
                                          '[cost]\ngpu_hour = 2.5\n'))
    assert config.baselines["8-shot"].shots == 8 and config.baselines["8-shot"].model == "base"
    assert config.cost is not None and config.cost.gpu_hour == 2.5
    with pytest.raises(ConfigError, match=r"baselines.*named after a role: candidate"):
        load_config(write(tmp_path, base + "[baselines.candidate]\nshots = 1\n"))
    with pytest.raises(ConfigError, match=r"baselines.x.shots"):
        load_config(write(tmp_path, base + "[baselines.x]\nshots = -1\n"))
    with pytest.raises(ConfigError, match=r"cost.*not both"):
        load_config(write(tmp_path, base + "[cost]\ngpu_hour = 1\ninput_per_million = 1\n"))
    with pytest.raises(ConfigError, match=r"cost.*no price"):
        load_config(write(tmp_path, base + '[cost]\ncurrency = "EUR"\n'))
    with pytest.raises(ConfigError, match=r"thresholds.baseline_metric"):
        load_config(write(tmp_path, base + '[thresholds]\nbaseline_metric = "f1"\n'))
