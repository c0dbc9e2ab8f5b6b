"""The ``actionhub`` command: verbs only. Parse, call the library, print.

Each verb (or group of verbs) lives in its own module here with a
``register(subparsers)`` function that adds its parser and sets ``func``.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from typing import Sequence

from actionhub import __version__
from actionhub.utils.errors import UserError

# Verb modules in the order `actionhub --help` lists them. A module listed here but
# not (yet) present in the package is skipped, so verbs can be added one at a time.
VERB_MODULES = (
    "demo",
    "benchmarks",
    "vocab",        # actionhub vocab build|show
    "collect",      # actionhub collect
    "importer",     # actionhub import
    "stats",        # actionhub stats
    "curate",       # actionhub curate list|mark|undo
    "export",       # actionhub export
    "rank",         # actionhub rank
    "analyze",      # actionhub analyze descriptions
    "text_features",  # actionhub text-features
    "extract",      # actionhub extract
    "recipes",      # actionhub recipes list|show
    "train",
    "evaluate",
    "sweep",
    "report",
    "predict",
    "serve",        # actionhub serve (the web app)
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
        if importlib.util.find_spec(f"actionhub.cli.{name}") is not None:
            importlib.import_module(f"actionhub.cli.{name}").register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(a.func(a) or 0)
    except (UserError, FileNotFoundError, PermissionError) as e:
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
