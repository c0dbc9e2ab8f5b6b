"""`actionhub curate list|mark|undo`: the marks kept beside a description store (STORE/curation.jsonl)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import CliError


def _key(text: str) -> tuple[str, str]:
    provider, sep, video = text.partition(":")
    if not sep or not video:
        raise CliError(f"--description {text!r}: give PROVIDER:VIDEO_ID, e.g. local:v17")
    return provider, video


def _line(m: dict) -> str:
    if m["target"] == "action":
        what = f"action {m['action']!r} unusable"
    else:
        where = f"for {m['action']!r}" if m["action"] is not None else "for every action"
        what = f"description {m['provider']}:{m['video_id']} bad {where}"
    return f"{m['id']}  {m['at']}  {m['by']:<12} {what}" + (f"  ({m['reason']})" if m.get("reason") else "")


def run_list(a: argparse.Namespace) -> int:
    from actionhub.dataset.curation import curation_path, load_curation, read_records
    from actionhub.dataset.store import Store

    st = Store(a.store)
    records = read_records(st) if a.all else load_curation(st).marks
    if a.json:
        print(json.dumps(records, indent=1, ensure_ascii=False))
        return 0
    if not records:
        print(f"no {'records' if a.all else 'active marks'} in {curation_path(st)}")
        return 0
    for r in records:
        print(_line(r) if r["op"] == "mark" else f"{r['id']}  {r['at']}  {r['by']:<12} undo {r['mark']}")
    if not a.all:
        print(f"{len(records)} active mark(s) in {curation_path(st)}; undo one with `actionhub curate undo "
              f"{a.store} ID`")
    return 0


def run_mark(a: argparse.Namespace) -> int:
    from actionhub.dataset.curation import mark_action, mark_descriptions

    if a.description:
        recs = mark_descriptions(a.store, None if a.every_action else a.action, [_key(d) for d in a.description],
                                 reason=a.reason, by=a.by)
    else:
        if a.every_action:
            raise CliError("--every-action applies to --description marks")
        recs = [mark_action(a.store, a.action, reason=a.reason, by=a.by)]
    for r in recs:
        print("marked: " + _line(r))
    return 0


def run_undo(a: argparse.Namespace) -> int:
    from actionhub.dataset.curation import undo

    for r in undo(a.store, a.ids, by=a.by):
        print(f"undone {r['mark']} ({r['id']})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("curate", help="list, add and undo curation marks of a store",
                       description="Marks say that a description is bad for an action (or for every action) or "
                                   "that an action is unusable. They are appended to STORE/curation.jsonl with who "
                                   "and when, never by rewriting the store; rank, stats, export and text-features "
                                   "leave the marked rows out (--ignore-curation keeps them). `actionhub serve` "
                                   "makes marks from the browser.")
    verbs = p.add_subparsers(dest="curate_verb", required=True, metavar="{list,mark,undo}")
    ls = verbs.add_parser("list", help="the active marks (--all: every record, undos included)")
    ls.add_argument("store", type=Path, help="store directory")
    ls.add_argument("--all", action="store_true", help="every record of the file, undone marks and undos included")
    ls.add_argument("--json", action="store_true", help="print the records as JSON")
    ls.set_defaults(func=run_list)
    mk = verbs.add_parser("mark", help="mark descriptions bad, or an action unusable")
    mk.add_argument("store", type=Path, help="store directory")
    mk.add_argument("--action", required=True, help="the action (as the store names it)")
    mk.add_argument("--description", action="append", metavar="PROVIDER:VIDEO_ID",
                    help="a description of the action to mark bad (repeat for more); without it the action itself "
                         "is marked unusable")
    mk.add_argument("--every-action", action="store_true",
                    help="the descriptions are bad for every action that lists them, not only --action")
    mk.add_argument("--reason", default="", help="why (kept with the mark)")
    mk.add_argument("--by", help="who marks (default: your login name)")
    mk.set_defaults(func=run_mark)
    un = verbs.add_parser("undo", help="undo marks by id (an undo line is appended; nothing is deleted)")
    un.add_argument("store", type=Path, help="store directory")
    un.add_argument("ids", nargs="+", metavar="ID", help="mark ids, as `actionhub curate list` shows them")
    un.add_argument("--by", help="who undoes (default: your login name)")
    un.set_defaults(func=run_undo)
