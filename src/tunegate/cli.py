"""The ``tunegate`` command: thin wiring over the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tunegate.config import ConfigError, load_config


def _example_list(args: argparse.Namespace) -> int:
    from tunegate.example.variants import VARIANTS

    for variant in VARIANTS:
        if args.verbose:
            print(f"{variant.name}\t{variant.expected}\t{variant.description}")
        else:
            print(variant.name)
    return 0


def _example_data(args: argparse.Namespace) -> int:
    """Write (or, with --check, verify) the example's JSONL datasets."""
    from tunegate.example.tickets import write_datasets

    root = Path(args.root)
    if not args.check:
        for split, path in write_datasets(root, seed=args.seed).items():
            print(f"{split}\t{path}")
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        fresh = write_datasets(Path(scratch), seed=args.seed)
        stale = [
            str(root / path.relative_to(scratch)) for path in fresh.values()
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        print(f"tunegate: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
