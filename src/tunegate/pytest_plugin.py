"""The tunegate pytest plugin: options, fixtures and hooks; the work is in the library.

Registered through the ``pytest11`` entry point, so it is loaded in every pytest run
where tunegate is installed: it stays inert (no config read, no model loaded) until a
suite asks for one of its ``tg_*`` fixtures.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tunegate.backends import CachedBackend, ModelRef
from tunegate.config import GateConfig, load_config
from tunegate.gates import GateFailed, GateResult
from tunegate.report.record import RunRecord
from tunegate.report.run import RunPart, RunTracker, session_part
from tunegate.session import DatasetView, GateSession
from tunegate.tasks import ClassificationTask, ExtractionTask

_SESSION = pytest.StashKey["GateSession | None"]()
_WORKER_PART = "tunegate_run_part"  # key in an xdist worker's workeroutput

_OPTIONS = (
    ("--tg-config", "tg_config", "path to tunegate.toml or a pyproject.toml with [tool.tunegate]"),
    ("--tg-base", "tg_base", "base model folder or hub id ('example' builds the tiny model)"),
    ("--tg-report-dir", "tg_report_dir", "where run records are written"),
    ("--tg-judge", "tg_judge", "the LLM judge as URL,MODEL: an OpenAI-compatible server's base "
     "URL and the judge's served name (default: [tool.tunegate.judge])"),
)
_REFERENCE_OPTIONS = (
    ("--tg-candidate", "tg_candidate", "candidate adapter folder or example variant name; "
     "TASK=SPEC sets a further task's candidate (repeatable)"),
    ("--tg-production", "tg_production", "production adapter folder, variant name, 'registry' (the "
     "registry's production adapter) or 'none'; "
     "TASK=SPEC sets a further task's production (repeatable)"),
)
_TASK_VALUE = re.compile(r"([A-Za-z_][\w-]*)=(.+)")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tunegate", "tunegate release gate")
    for flag, dest, help_text in _OPTIONS:
        group.addoption(flag, dest=dest, default=None, help=help_text)
    for flag, dest, help_text in _REFERENCE_OPTIONS:
        group.addoption(flag, dest=dest, action="append", default=[], help=help_text)
    group.addoption("--tg-backend", dest="tg_backend", default=None,
                    choices=("transformers", "vllm", "openai"),
                    help="which backend computes (default: [tool.tunegate.backend] kind); "
                    "'openai' needs the config's [backend.openai] table")
    group.addoption("--tg-seed", dest="tg_seed", type=int, default=None,
                    help="seed for training and sampling (default: the config's)")
    group.addoption("--tg-no-cache", dest="tg_no_cache", action="store_true",
                    help="bypass the response cache: recompute every score")
    group.addoption("--tg-history", dest="tg_history", default=None,
                    help="history database each run is added to "
                    "(default: <report_dir>/history.sqlite; 'none': do not add)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SESSION] = None
    config.pluginmanager.register(RunRecorder(config), "tunegate-recorder")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the run's gate session: a vLLM engine stops here, while its output can
    still be written, not in an exit handler after pytest closed the streams."""
    session = config.stash.get(_SESSION, None)
    if session is not None:
        session.close()


def gate_config_from_options(config: pytest.Config) -> GateConfig:
    """The [tool.tunegate] configuration with the --tg-* options applied."""
    option = config.option
    path = option.tg_config or _find_from(config)
    loaded = load_config(path)
    main: dict[str, str] = {}
    for key in ("candidate", "production"):
        for value in getattr(option, f"tg_{key}"):
            match = _TASK_VALUE.fullmatch(value)
            if match and match.group(1) in loaded.tasks:
                loaded = loaded.with_task_overrides(match.group(1), **{key: match.group(2)})
            else:
                main[key] = value
    return loaded.with_judge(option.tg_judge).with_overrides(
        base=option.tg_base, report_dir=option.tg_report_dir, seed=option.tg_seed,
        use_cache=False if option.tg_no_cache else None,
        backend=_backend_of_kind(loaded, option.tg_backend), **main,
    )


def _backend_of_kind(config: GateConfig, kind: str | None) -> dict[str, Any] | None:
    """The backend settings with another kind (None: keep); a [backend.vllm] table is
    dropped for a kind other than vllm, as it configures nothing else."""
    if kind is None or kind == config.backend.kind:
        return None
    backend = config.backend.model_dump()
    backend["kind"] = kind
    if kind != "vllm":
        backend["vllm"] = None
    return backend


def _find_from(config: pytest.Config) -> str | None:
    from tunegate.config import find_config

    found = find_config(config.rootpath)
    return str(found) if found else None


def gate_session(config: pytest.Config) -> GateSession:
    """The run's gate session (made on first use): for hooks such as
    ``pytest_generate_tests`` that parametrize by the configuration."""
    return _session(config)


def _session(config: pytest.Config) -> GateSession:
    session = config.stash[_SESSION]
    if session is None:
        session = GateSession(gate_config_from_options(config))
        config.stash[_SESSION] = session
    return session


# -- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def tg_session(pytestconfig: pytest.Config) -> GateSession:
    """The gate session: config, backend, datasets, references, recorded results."""
    return _session(pytestconfig)


@pytest.fixture(scope="session")
def tg_config(tg_session: GateSession) -> GateConfig:
    return tg_session.config


@pytest.fixture(scope="session")
def tg_task(tg_session: GateSession) -> ClassificationTask | ExtractionTask:
    return tg_session.task


@pytest.fixture(scope="session")
def tg_datasets(tg_session: GateSession) -> DatasetView:
    """Attribute access to the configured splits: ``tg_datasets.eval`` etc."""
    return DatasetView(tg_session)


@pytest.fixture(scope="session")
def tg_backend(tg_session: GateSession) -> CachedBackend:
    return tg_session.backend


@pytest.fixture(scope="session")
def tg_base(tg_session: GateSession) -> ModelRef:
    return tg_session.base


@pytest.fixture(scope="session")
def tg_production(tg_session: GateSession) -> ModelRef:
    """The production adapter; the test is skipped, saying so, when none is configured."""
    if tg_session.production is None:
        pytest.skip("no production adapter configured (production = 'none')")
    return tg_session.production


@pytest.fixture(scope="session")
def tg_candidate(tg_session: GateSession) -> ModelRef:
    return tg_session.candidate


@pytest.fixture(scope="session")
def tg_reference(tg_session: GateSession) -> ModelRef:
    """What the candidate is compared with: production, or the base when there is none."""
    return tg_session.reference


@pytest.fixture(scope="session")
def tg_finetune(tg_session: GateSession) -> Callable[..., ModelRef]:
    """``tg_finetune(name, examples=None, training={...})``: an adapter, trained once.

    QLoRA (``load_in_4bit``) where CUDA or bitsandbytes is missing skips the test,
    with the reason.
    """
    from tunegate.training import QLoRAUnavailable

    def finetune(*args: Any, **kwargs: Any) -> ModelRef:
        try:
            return tg_session.finetune(*args, **kwargs)
        except QLoRAUnavailable as exc:
            pytest.skip(f"QLoRA unavailable: {exc}")

    return finetune


@pytest.fixture
def tg_gate(
    request: pytest.FixtureRequest, tg_session: GateSession
) -> Callable[[GateResult], GateResult]:
    """``tg_gate(result)``: record a gate result, and fail the test when it did not pass."""

    def check(result: GateResult) -> GateResult:
        __tracebackhide__ = True
        tg_session.record(request.node.nodeid, result)
        if not result.passed:
            command = reproduce_command(request.config, request.node.nodeid)
            raise GateFailed(result, command=command)
        return result

    return check


def reproduce_command(config: pytest.Config, nodeid: str) -> str:
    """The pytest command that re-runs one gate test with this run's --tg-* choices."""
    session = config.stash[_SESSION]
    words = ["pytest", nodeid]
    option = config.option
    for flag, dest, _ in _OPTIONS:
        value = getattr(option, dest)
        if value is not None:
            words += [flag, str(value)]
    for flag, dest, _ in _REFERENCE_OPTIONS:
        values = list(getattr(option, dest))
        if dest == "tg_candidate" and not values and session is not None:
            values = [session.config.candidate]
        for value in values:
            words += [flag, value]
    if option.tg_backend is not None:
        words += ["--tg-backend", option.tg_backend]
    if option.tg_seed is not None:
        words += ["--tg-seed", str(option.tg_seed)]
    return shlex.join(words)


# -- reporting ---------------------------------------------------------------------


def pytest_terminal_summary(
    terminalreporter: Any, exitstatus: int, config: pytest.Config
) -> None:
    from tunegate.report.console import gate_table

    markup = bool(getattr(terminalreporter, "hasmarkup", False))
    session = config.stash.get(_SESSION, None)
    if session is not None and session.results:
        terminalreporter.write_sep("=", "tunegate gate results")
        terminalreporter.write(gate_table(session.results, session.record_path, markup),
                               flush=True)
        return
    recorder = config.pluginmanager.get_plugin("tunegate-recorder")
    if recorder is None:
        return
    tracker = recorder.tracker
    if tracker.record is not None and tracker.record.gates:  # xdist: the workers' gates
        terminalreporter.write_sep("=", "tunegate gate results")
        gates = [(g.test, g) for g in tracker.record.gates]
        terminalreporter.write(gate_table(gates, tracker.record_path, markup), flush=True)
    elif tracker.record_path is not None:
        terminalreporter.write_sep("=", "tunegate")
        terminalreporter.write_line(f"run record: {tracker.record_path}")


# -- recording ---------------------------------------------------------------------


class RunRecorder:
    """The hooks that feed the run's :class:`RunTracker` and write its record.

    Under pytest-xdist each worker hands its part to the controller (through
    ``workeroutput``), which receives every worker's test reports and writes one record.
    """

    def __init__(self, config: pytest.Config):
        self.config = config
        self.tracker = RunTracker()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.tracker.collected = [item.nodeid for item in session.items]

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.tracker.deselected += len(items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.tracker.add_report(report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist controller: take the part a worker sent when it finished."""
        output = getattr(node, "workeroutput", {})
        if _WORKER_PART in output:
            self.tracker.add_part(RunPart.model_validate_json(output[_WORKER_PART]))
        if error is not None or _WORKER_PART not in output:
            self.tracker.lost_workers.append(str(getattr(node, "gateway", node)))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the run record (before the terminal summary, which names its path)."""
        config = self.config
        gate_session = config.stash.get(_SESSION, None)
        part = session_part(gate_session, self.tracker.collected, self.tracker.deselected)
        if hasattr(config, "workerinput"):  # an xdist worker: the controller records
            config.workeroutput[_WORKER_PART] = part.model_dump_json()  # type: ignore[attr-defined]
            return
        self.tracker.add_part(part)
        record = self.tracker.build(
            int(exitstatus), config.rootpath, python_files=config.getini("python_files"),
            norecursedirs=config.getini("norecursedirs"),
        )
        self.tracker.record = record
        report_dir = next((p.report_dir for p in self.tracker.parts if p.report_dir), None)
        if record is None or report_dir is None:
            return
        from tunegate.report.record import write_run_record

        path = write_run_record(record, Path(report_dir))
        self.tracker.record_path = path
        if gate_session is not None:
            gate_session.record_path = path
        _add_to_history(config, record, Path(report_dir))


def _add_to_history(config: pytest.Config, record: RunRecord, report_dir: Path) -> None:
    """Add the run to the history; a failure warns and leaves the exit status alone."""
    option = config.option.tg_history
    if option == "none":
        return
    from tunegate.report.history import History

    path = Path(option) if option else report_dir / "history.sqlite"
    try:
        History(path).add(record)
    except Exception as exc:  # the record file is written: the history can be rebuilt
        line = (f"tunegate: warning: run {record.run_id} not added to the history "
                f"{path}: {exc} (rebuild it with: tunegate history import)")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line, yellow=True)
        else:
            print(line, file=sys.stderr)
