"""The ``actionhub`` command: verbs only. Parse, call the library, print.

Each verb (or group of verbs) lives in its own module here with a
``register(subparsers)`` function that adds its parser and sets ``func``.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from actionhub import __version__
from actionhub.cli.common import CliError

# Verb modules in the order `actionhub --help` lists them.
VERB_MODULES = (
    "benchmarks",
    "train",
    "evaluate",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="actionhub",
        description="Zero-shot action recognition with ActionHub video descriptions and the CoCo model.",
    )
    p.add_argument("--version", action="version", version=f"actionhub {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name in VERB_MODULES:
        importlib.import_module(f"actionhub.cli.{name}").register(sub)
    return p


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is meant for the user (no traceback)."""
    from actionhub.class_text import ClassTextError
    from actionhub.coco.train import RunDirError
    from actionhub.features import FeatureError
    from actionhub.results import ResultsError

    return (CliError, FeatureError, ClassTextError, RunDirError, ResultsError, FileNotFoundError, PermissionError)


def main(argv: Sequence[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(a.func(a) or 0)
    except _user_errors() as e:
        print(f"actionhub {a.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished work is saved, rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # output piped into e.g. `head`: not an error
        return 0


if __name__ == "__main__":
    sys.exit(main())
