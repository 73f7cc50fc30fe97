"""The ``tunegate`` command: thin wiring over the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tunegate.config import ConfigError, GateConfig, load_config
from tunegate.data import DataError


def _example_list(args: argparse.Namespace) -> int:
    from tunegate.example.variants import VARIANTS

    for variant in VARIANTS:
        if args.verbose:
            print(f"{variant.name}\t{variant.expected}\t{variant.description}")
        else:
            print(variant.name)
    return 0


def _example_data(args: argparse.Namespace) -> int:
    """Write (or, with --check, verify) the example's datasets, both tasks, and the
    judge's calibration set."""
    from tunegate.example import extraction, judge, tickets

    def write_datasets(root: Path, seed: int) -> list[Path]:
        return [*tickets.write_datasets(root, seed).values(),
                *extraction.write_datasets(root, seed).values(),
                judge.write_calibration(root, seed)]

    root = Path(args.root)
    if not args.check:
        for path in write_datasets(root, seed=args.seed):
            print(path)
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        fresh = write_datasets(Path(scratch), seed=args.seed)
        stale = [
            str(root / path.relative_to(scratch)) for path in fresh
            if not (root / path.relative_to(scratch)).is_file()
            or (root / path.relative_to(scratch)).read_bytes() != path.read_bytes()
        ]
    for name in stale:
        print(f"differs from the generator: {name}", file=sys.stderr)
    return 1 if stale else 0


def _example_lm_eval_tasks(args: argparse.Namespace) -> int:
    """Write (or, with --check, verify) the example's local lm-eval tasks."""
    from tunegate.capability.example_tasks import (
        FOLDER,
        stale_example_tasks,
        write_example_tasks,
    )

    folder = Path(args.root) / FOLDER
    if not args.check:
        for path in write_example_tasks(folder):
            print(path)
        return 0
    stale = stale_example_tasks(folder)
    for path in stale:
        print(f"differs from the generator: {path}", file=sys.stderr)
    return 1 if stale else 0


def _example_base(args: argparse.Namespace) -> int:
    """Build (or find) the example's tiny base model and print its folder."""
    config = load_config(args.config)
    from tunegate.example.base_model import example_base

    print(example_base(config.resolve(config.cache_dir)))
    return 0


def _example_judge(args: argparse.Namespace) -> int:
    """Train (or find) the example's judge adapter of the base and print its folder;
    serving it needs vLLM, training it does not."""
    from tunegate.example.judge import example_judge
    from tunegate.session import GateSession

    session = GateSession(load_config(args.config))
    try:
        print(example_judge(session))
    finally:
        session.close()
    return 0


def _source_path(config: GateConfig | None, source: str) -> Path:
    """A configured split's file (when a configuration is given), else the path as given."""
    from tunegate.session import SPLITS

    if config is None or source not in SPLITS:
        return Path(source)
    path = getattr(config.data, source)
    if path is None:
        raise ConfigError(config.source, None, f"data.{source}", "not configured")
    return config.resolve(path)


def _golden_build(args: argparse.Namespace) -> int:
    """Build a golden set from a reference: see tunegate.golden.build_golden."""
    from tunegate.golden import GoldenBuildError, build_golden
    from tunegate.session import GateSession

    session = GateSession(load_config(args.config))
    if args.task is not None:
        session = session.for_task(args.task)
    config = session.config
    ref = session.resolve("reference", args.reference) if args.reference else session.reference
    source = _source_path(config, args.source)
    if args.out is not None:
        out = Path(args.out)
    elif config.data.golden is not None:
        out = config.resolve(config.data.golden)
    else:
        raise ConfigError(config.source, None, "data.golden", "not configured: pass --out")
    try:
        built = build_golden(session.task, session.backend.inner, ref, source, out,
                             force=args.force, reference_spec=args.reference)
    except GoldenBuildError as exc:
        print(f"tunegate: golden build refused: {exc}", file=sys.stderr)
        return 1
    print(f"kept {built.kept} of {built.source_count} examples")
    print(f"golden\t{built.path}")
    print(f"provenance\t{built.provenance}")
    return 0


def _probes_generate(args: argparse.Namespace) -> int:
    """Write a probe set of a source dataset: see tunegate.probes.build_probe_set."""
    from tunegate.config import ProbeConfig
    from tunegate.probes import ProbeSetError, build_probe_set
    from tunegate.session import SPLITS, GateSession

    config = None
    if args.config is not None or args.source in SPLITS:
        config = load_config(args.config)
    labels: tuple[str, ...] | None = None
    if config is not None and config.task.kind == "classification":
        labels = config.task.labels
    source = _source_path(config, args.source)
    root = config.root if config is not None else Path.cwd()
    out = Path(args.out) if args.out else root / "evals" / "probes" / f"{source.stem}.jsonl"
    seed = args.seed if args.seed is not None else (config.seed if config else 0)
    # With a configuration, unset options take [tool.tunegate.probes]'s values, so the file
    # holds exactly the probes a gate run generates on the fly.
    settings = config.probes if config is not None else ProbeConfig()
    families = [f.strip() for f in args.families.split(",") if f.strip()] if args.families \
        else settings.families
    try:
        built = build_probe_set(
            source, out, families, seed=seed,
            per_example=settings.per_example if args.per_example is None else args.per_example,
            labels=labels,
            abstain_label=(settings.abstain_label if args.abstain_label is None
                           else args.abstain_label),
            overlong_chars=settings.overlong_chars if config is not None else 4000,
            force=args.force,
            # as a gate run does: no probe that repeats a training text
            exclude=GateSession(config).training_overlap if config is not None else None,
        )
    except ProbeSetError as exc:
        print(f"tunegate: probes generate refused: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"tunegate: {exc}", file=sys.stderr)
        return 2
    for family, count in built.counts.items():
        print(f"{family}\t{count}")
    print(f"probes\t{built.path}")
    print(f"provenance\t{built.provenance}")
    return 0


def _registry_command(args: argparse.Namespace) -> int:
    """The registry commands: the work is in tunegate.registry; refusals exit 1."""
    from tunegate.registry import RegistryError

    try:
        code: int = args.registry_run(args, load_config(args.config))
    except RegistryError as exc:
        print(f"tunegate: {exc}", file=sys.stderr)
        return exc.exit_code
    return code


def _registry_register(args: argparse.Namespace, config: GateConfig) -> int:
    from tunegate.registry import Registry

    done = Registry.for_config(config).register(Path(args.path), args.name)
    state = "registered" if done.created else "already registered"
    print(f"{state}\t{done.adapter.name}\t{done.adapter.sha256}\t{done.adapter.folder}")
    return 0


def _registry_list(args: argparse.Namespace, config: GateConfig) -> int:
    from tunegate.registry import Registry, adapter_table

    print("\n".join(adapter_table(Registry.for_config(config).adapters())))
    return 0


def _registry_show(args: argparse.Namespace, config: GateConfig) -> int:
    from tunegate.registry import Registry, adapter_details, runs_of_adapter

    registry = Registry.for_config(config)
    adapter = registry.get(args.name)
    runs = runs_of_adapter(config.resolve(config.report_dir), adapter.sha256)
    print("\n".join(adapter_details(adapter, registry.events(args.name), runs)))
    return 0


def _promote(args: argparse.Namespace, config: GateConfig) -> int:
    """Promote a registered adapter: see tunegate.registry.promote."""
    from tunegate.registry import Registry, promote

    done = promote(
        Registry.for_config(config), args.name, args.to,
        report_dir=config.resolve(config.report_dir),
        suites_dir=Path(args.suites) if args.suites else config.root / "suites",
        force=args.force, reason=args.reason or "",
    )
    for warning in done.check.warnings if done.check else []:
        print(f"tunegate: warning: {warning}", file=sys.stderr)
    if not done.events:
        print(f"{args.name} is already in {args.to}")
    for event in done.events:
        forced = "\tforced" if event.forced else ""
        print(f"{event.adapter}\t{event.from_stage} -> {event.to_stage}\t"
              f"run {event.run_id or '-'}{forced}")
    return 0


def _add_registry_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``tunegate registry register|list|show`` and ``tunegate promote``."""
    registry = commands.add_parser("registry", help="registered adapters and their stages")
    registry_commands = registry.add_subparsers(dest="registry_command", required=True)
    register = registry_commands.add_parser(
        "register", help="register an adapter folder under a name, as a candidate",
        description="Copy the adapter into the registry by content hash and record its "
        "lineage (from its lineage.json when present). Names are immutable handles.",
    )
    register.add_argument("path", help="the adapter folder (with adapter_config.json)")
    register.add_argument("--name", required=True, help="the adapter's name in the registry")
    register.set_defaults(registry_run=_registry_register)
    listing = registry_commands.add_parser("list", help="registered adapters and their stages")
    listing.set_defaults(registry_run=_registry_list)
    show = registry_commands.add_parser("show", help="an adapter's lineage, runs and events")
    show.add_argument("name")
    show.set_defaults(registry_run=_registry_show)

    promote = commands.add_parser(
        "promote", help="move a registered adapter to shadow or production",
        description="Production needs the latest gate run of exactly this adapter content "
        "to have passed, on the whole suite as it is now; --force --reason overrides, and "
        "is recorded as such. The adapter in production is retired in the same step.",
    )
    promote.add_argument("name", help="a registered adapter name")
    promote.add_argument("--to", required=True, choices=("shadow", "production"))
    promote.add_argument("--force", action="store_true",
                         help="promote even though the gate did not clear it (needs --reason)")
    promote.add_argument("--reason", default=None, help="why (recorded with the event)")
    promote.add_argument("--suites", default=None,
                         help="the gate's suite folder (default: suites beside the config)")
    promote.set_defaults(registry_run=_promote)
    for parser in (register, listing, show, promote):
        parser.add_argument("--config", default=None, help="tunegate.toml or pyproject.toml")
        parser.set_defaults(run=_registry_command)


def _history_import(args: argparse.Namespace) -> int:
    """Add run record files to a history database (all are read before any is added)."""
    from tunegate.report.history import History, HistoryError
    from tunegate.report.record import read_run_record

    records = [read_run_record(Path(path)) for path in args.records]
    if args.db is not None:
        db = Path(args.db)
    else:
        config = load_config(args.config)
        db = config.resolve(config.report_dir) / "history.sqlite"
    history = History(db)
    try:
        for record in records:
            print(f"{'added' if history.add(record) else 'present'}\t{record.run_id}")
    except HistoryError as exc:
        print(f"tunegate: {exc}", file=sys.stderr)
        return 2
    return 0


def _add_history_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``tunegate history import``."""
    history = commands.add_parser("history", help="the run history database")
    history_commands = history.add_subparsers(dest="history_command", required=True)
    importing = history_commands.add_parser(
        "import", help="add run record files to the history",
        description="Add run records (e.g. a CI artifact of reports/runs/*.json) to the "
        "history database; a run already there is left as it is.",
    )
    importing.add_argument("records", nargs="+", metavar="RECORD.json")
    importing.add_argument("--db", default=None,
                           help="history file (default: <report_dir>/history.sqlite)")
    importing.add_argument("--config", default=None, help="tunegate.toml or pyproject.toml")
    importing.set_defaults(run=_history_import)


def _run_source(args: argparse.Namespace) -> Any:
    """The runs of --history or --runs, else of the configured report_dir."""
    from tunegate.report.sources import open_source

    report_dir = None
    if args.history is None and args.runs is None:
        config = load_config(args.config)
        report_dir = config.resolve(config.report_dir)
    return open_source(args.history, args.runs, report_dir)


def _report(args: argparse.Namespace) -> int:
    """Write the HTML report and the Markdown summary: see tunegate.report.summary."""
    from tunegate.report.html import write_report
    from tunegate.report.sources import ReportError, parse_since
    from tunegate.report.summary import ReportOptions, build_report

    try:
        source = _run_source(args)
        options = ReportOptions(since=parse_since(args.since) if args.since else None,
                                candidate=args.candidate, compare=args.compare,
                                last=args.last, nights=args.nights)
        report = build_report(source, options)
        out = Path(args.out) if args.out else Path(source.location).parent / "report"
        files = write_report(report, out)
    except ReportError as exc:
        print(f"tunegate: {exc}", file=sys.stderr)
        return 2
    print(f"html\t{files.html}")
    print(f"markdown\t{files.markdown}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    """Compare two runs (ids, or run record files): see tunegate.report.compare."""
    import json

    from tunegate.report.compare import compare_runs, comparison_table
    from tunegate.report.sources import ReportError, find_runs

    try:
        a, b = find_runs([args.run_a, args.run_b], lambda: _run_source(args))
    except ReportError as exc:
        print(f"tunegate: {exc}", file=sys.stderr)
        return 2
    comparison = compare_runs(a, b, resamples=args.resamples)
    if args.json:
        print(json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(comparison_table(comparison, max_flips=args.max_flips,
                               markup=sys.stdout.isatty()), end="")
    return 0


def _add_report_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``tunegate report`` and ``tunegate compare``."""
    report = commands.add_parser(
        "report", help="HTML report and Markdown summary of the newest run, with trends",
        description="Explain the newest run (verdict, failed gates, per-class F1, golden "
        "flips, probe flip rates, abstention, judge and capability gates) and draw every "
        "thresholded metric over the last runs. Writes report.html and summary.md into "
        "--out (default: report/ beside the history or runs folder). Exit 2 when there "
        "are no runs.",
    )
    report.add_argument("--since", default=None, help="only runs finished since (ISO date)")
    report.add_argument("--candidate", default=None,
                        help="only runs of this candidate (spec, adapter folder or sha256)")
    report.add_argument("--compare", default=None, metavar="RUN",
                        help="put this run (an id, or 'previous') beside the newest")
    report.add_argument("--last", type=int, default=10, help="runs in the trends (default 10)")
    report.add_argument("--nights", action="store_true",
                        help="trend over nights: the last run of each day")
    report.add_argument("--out", default=None, help="output folder")
    report.set_defaults(run=_report)
    compare = commands.add_parser(
        "compare", help="metric deltas with CIs and per-example flips between two runs",
        description="Compare RUN_B with RUN_A (run ids, or run record files): every gate "
        "metric both recorded, accuracy on shared examples with a paired bootstrap CI, "
        "and the examples that flipped. Exit 2 when a run is unknown.",
    )
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.add_argument("--json", action="store_true", help="print JSON instead of tables")
    compare.add_argument("--max-flips", type=int, default=50,
                         help="flipped examples shown a direction (default 50; JSON: all)")
    compare.add_argument("--resamples", type=int, default=2000,
                         help="bootstrap resamples (default 2000)")
    compare.set_defaults(run=_compare)
    for parser in (report, compare):
        parser.add_argument("--history", default=None, help="a history SQLite file")
        parser.add_argument("--runs", default=None, help="a folder of run record files")
        parser.add_argument("--config", default=None,
                            help="tunegate.toml or pyproject.toml (default: found upwards; "
                            "its report_dir holds history.sqlite or runs/)")


def _data_check(args: argparse.Namespace) -> int:
    """Hygiene checks of training files (and held-out files): see tunegate.gates.hygiene."""
    from tunegate.config import HygieneConfig, find_config
    from tunegate.gates.hygiene import check_data

    path = args.config if args.config is not None else find_config()
    settings = load_config(path).hygiene if path is not None else HygieneConfig()
    checks = check_data(args.paths, args.against, settings, probes=args.probes)
    print(_hygiene_table(checks, markup=sys.stdout.isatty()), end="")
    failed = [c.result for c in checks if c.result is not None and not c.result.passed]
    for result in failed:
        print(f"\n{result.explain()}")
    return 1 if failed else 0


def _hygiene_table(checks: Sequence[Any], markup: bool) -> str:
    """The checks as a rich table: check, target, value, threshold, verdict, detail."""
    import io

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from tunegate.report.console import headline

    style = {"PASSED": "green", "FAILED": "bold red", "NOT EVALUATED": "bold yellow",
             "SKIPPED": "dim"}
    table = Table(show_edge=False, pad_edge=False)
    for column in ("check", "target", "metric", "value", "threshold", "verdict", "detail"):
        table.add_column(column, overflow="fold")
    for check in checks:
        result = check.result
        metric, value, threshold = headline(result) if result else ("", "", "")
        status = result.status if result else "SKIPPED"
        detail = (result.reason or result.error or "") if result else check.skipped
        table.add_row(escape(check.name), escape(check.target), escape(metric), value,
                      escape(threshold), f"[{style[status]}]{status}[/]", escape(detail))
    buffer = io.StringIO()
    Console(file=buffer, width=200, force_terminal=markup, no_color=not markup,
            highlight=False).print(table)
    return buffer.getvalue()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tunegate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    example = commands.add_parser("example", help="the bundled offline example")
    example_commands = example.add_subparsers(dest="example_command", required=True)

    listing = example_commands.add_parser("list", help="the example's adapter variants")
    listing.add_argument("-v", "--verbose", action="store_true",
                         help="also print the expected verdict and a description")
    listing.set_defaults(run=_example_list)

    data = example_commands.add_parser("data", help="write the example's datasets")
    data.add_argument("--root", default=".", help="project root (default: .)")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--check", action="store_true",
                      help="only verify the files equal the generator's output")
    data.set_defaults(run=_example_data)

    tasks = example_commands.add_parser(
        "lm-eval-tasks", help="write the example's lm-eval tasks (evals/lm_eval)")
    tasks.add_argument("--root", default=".", help="project root (default: .)")
    tasks.add_argument("--check", action="store_true",
                       help="only verify the files equal the generator's output")
    tasks.set_defaults(run=_example_lm_eval_tasks)

    base = example_commands.add_parser("base", help="build the example's tiny base model")
    base.add_argument("--config", default=None, help="tunegate.toml or pyproject.toml")
    base.set_defaults(run=_example_base)

    judge = example_commands.add_parser(
        "judge", help="train (or find) the example's judge adapter (judge.adapter = example)")
    judge.add_argument("--config", default=None, help="tunegate.toml or pyproject.toml")
    judge.set_defaults(run=_example_judge)

    golden = commands.add_parser("golden", help="golden sets")
    golden_commands = golden.add_subparsers(dest="golden_command", required=True)
    build = golden_commands.add_parser(
        "build", help="keep what a reference gets right in two identical runs",
        description="Run the reference twice over the source (without the response "
        "cache), refuse if the runs differ, and write the examples it gets right both "
        "times, with provenance beside them.",
    )
    build.add_argument("--config", default=None, help="tunegate.toml or pyproject.toml")
    build.add_argument("--task", default=None, help="a further task of [tool.tunegate.tasks]")
    build.add_argument("--reference", default=None,
                       help="adapter folder, variant name or 'base' (default: production, "
                       "else the base)")
    build.add_argument("--source", default="eval",
                       help="a configured split or a JSONL file (default: eval)")
    build.add_argument("--out", default=None, help="where to write (default: data.golden)")
    build.add_argument("--force", action="store_true", help="overwrite an existing set")
    build.set_defaults(run=_golden_build)

    probes = commands.add_parser("probes", help="adversarial and out-of-distribution probes")
    probes_commands = probes.add_subparsers(dest="probes_command", required=True)
    generate = probes_commands.add_parser(
        "generate", help="write deterministic probes of a dataset",
        description="Perturb every example of the source with each probe family (typos, "
        "casing, noise, unicode, paraphrase, distractor, injections, truncation, overlong, "
        "ood) and write the probes with provenance beside them.",
    )
    generate.add_argument("--config", default=None, help="tunegate.toml or pyproject.toml")
    generate.add_argument("--source", default="eval",
                          help="a configured split or a JSONL file (default: eval)")
    generate.add_argument("--families", default=None,
                          help="comma-separated families (default: the config's, else all)")
    generate.add_argument("--seed", type=int, default=None,
                          help="default: the configured seed, else 0")
    generate.add_argument("--per-example", type=int, default=None,
                          help="probes per example and family (default: the config's, else 1)")
    generate.add_argument("--abstain-label", default=None,
                          help="the expected answer to out-of-distribution probes "
                          "(default: the config's, else other)")
    generate.add_argument("--out", default=None,
                          help="where to write (default: evals/probes/<source>.jsonl)")
    generate.add_argument("--force", action="store_true", help="overwrite an existing set")
    generate.set_defaults(run=_probes_generate)
    _add_registry_commands(commands)
    _add_history_commands(commands)
    _add_report_commands(commands)

    data_parser = commands.add_parser("data", help="training and eval data")
    data_commands = data_parser.add_subparsers(dest="data_command", required=True)
    check = data_commands.add_parser(
        "check", help="hygiene checks: format, duplicates, leakage, personal data, labels",
        description="Validate the chat format of every file, find exact and near duplicates "
        "in the training files, leakage of each --against and --probes file into them, "
        "personal data "
        "everywhere, label drift and class balance, and annotator agreement where a second "
        "label column exists. Exit 1 when a check fails, 2 when a file cannot be read.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="training JSONL files")
    check.add_argument("--against", nargs="+", default=[], metavar="PATH",
                       help="held-out files (eval, golden) checked for leakage and label drift")
    check.add_argument("--probes", nargs="+", default=[], metavar="PATH",
                       help="probe or out-of-distribution files, checked for leakage only")
    check.add_argument("--config", default=None,
                       help="tunegate.toml or pyproject.toml (default: found upwards, else "
                       "the defaults of [tool.tunegate.hygiene])")
    check.set_defaults(run=_data_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (ConfigError, DataError) as exc:
        print(f"tunegate: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
