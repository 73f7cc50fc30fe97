"""The ``tunegate`` command: thin wiring over the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

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
    """Write (or, with --check, verify) the example's datasets, both tasks."""
    from tunegate.example import extraction, tickets

    def write_datasets(root: Path, seed: int) -> list[Path]:
        return [*tickets.write_datasets(root, seed).values(),
                *extraction.write_datasets(root, seed).values()]

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


def _example_base(args: argparse.Namespace) -> int:
    """Build (or find) the example's tiny base model and print its folder."""
    config = load_config(args.config)
    from tunegate.example.base_model import example_base

    print(example_base(config.resolve(config.cache_dir)))
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
    from tunegate.session import SPLITS

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

    base = example_commands.add_parser("base", help="build the example's tiny base model")
    base.add_argument("--config", default=None, help="tunegate.toml or pyproject.toml")
    base.set_defaults(run=_example_base)

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
