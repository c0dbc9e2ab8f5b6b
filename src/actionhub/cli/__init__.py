"""The ``actionhub`` command: verbs only. Parse, call the library, print.

Each verb (or group of verbs) lives in its own module here with a
``register(subparsers)`` function that adds its parser and sets ``func``.
Ctrl-C anywhere is one line and exit status 130: while the command starts (imports, parsing:
nothing written yet) by the handler installed first thing below, later as a ``KeyboardInterrupt``
that lets every writer clean up (staged outputs vanish, resumable jobs keep what is finished).
"""
from __future__ import annotations

import os
import signal
import sys


def _interrupted_at_start(signum, frame):  # noqa: ARG001
    sys.stderr.write("actionhub: interrupted before it started; nothing was written\n")
    sys.stderr.flush()
    os._exit(130)


# the console script `actionhub` (not a program that imports this module): quiet from the first moment
if os.path.basename(sys.argv[0] if sys.argv else "") in ("actionhub", "actionhub.exe"):
    signal.signal(signal.SIGINT, _interrupted_at_start)

import argparse  # noqa: E402
import errno  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import logging  # noqa: E402
import threading  # noqa: E402
from typing import Sequence  # noqa: E402

from actionhub import __version__  # noqa: E402
from actionhub.utils.errors import UserError  # noqa: E402

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


#: verbs whose long work resumes where it stopped (the rest write their output whole or not at all)
RESUMABLE = ("collect", "import", "extract", "train", "sweep", "text-features", "demo")
#: errors of the operating system that are the user's to fix, told in one line
_USER_OS_ERRORS = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def main(argv: Sequence[str] | None = None) -> int:
    verb = "command"
    try:
        a = build_parser().parse_args(argv)
        verb = a.verb
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)   # from here on: a KeyboardInterrupt
        logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        return int(a.func(a) or 0)
    except (UserError, FileNotFoundError, PermissionError) as e:
        print(f"actionhub {verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"actionhub {verb}: interrupted; " + ("finished work is saved: rerun the same command to resume"
                                                   if verb in RESUMABLE else "no output was changed (outputs appear "
                                                   "only when complete): rerun the same command"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # output piped into e.g. `head`: not an error
        return 0
    except OSError as e:
        if e.errno not in _USER_OS_ERRORS:
            raise
        print(f"actionhub {verb}: error: {e.strerror} ({e.filename or e}); free space or give a path you can "
              "write to", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
