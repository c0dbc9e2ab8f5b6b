"""`actionhub import`: fill a description store from a released ActionHub file or an exported dataset folder."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import add_progress_flag


def run_import(a: argparse.Namespace) -> int:
    from actionhub.dataset.importer import import_export, import_released

    if a.file.is_dir():
        s = import_export(a.file, a.out, note=a.note, progress=not a.no_progress)
        if a.json:
            print(json.dumps(s, indent=1, ensure_ascii=False))
            return 0
        print(f"{s['folder']}: {s['descriptions']:,} descriptions and {s['hits']:,} hits read; {s['added']:,} hits and "
              f"{s['new_descriptions']:,} descriptions added to {s['store']} ({s['duplicates']:,} hits already there)")
        if s["hits_without_description"] or s["descriptions_without_hits"]:
            print(f"skipped {s['hits_without_description']:,} hits whose description is not in the folder and "
                  f"{s['descriptions_without_hits']:,} descriptions no hit lists")
        return 0
    s = import_released(a.file, a.out, provider=a.provider, note=a.note, progress=not a.no_progress)
    if a.json:
        print(json.dumps(s, indent=1, ensure_ascii=False))
        return 0
    print(f"{s['file']}: {s['entries']:,} descriptions read, {s['added']:,} added to {s['store']} "
          f"({s['duplicates']:,} already there, {s['skipped']:,} malformed entries skipped)")
    if s["skipped_lines"]:
        print("first malformed lines: " + ", ".join(map(str, s["skipped_lines"][:10])))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import a released ActionHub file or an exported dataset folder into a store",
                       description="Import {action: [description, ...]} JSON, or JSONL of {\"action\", "
                                   "\"description\"} rows or {action: [...]} objects, into a description store. "
                                   "Missing video ids become a stable hash of action and description; rows already "
                                   "in the store are skipped, so rerunning is safe. A folder written by `actionhub "
                                   "export` (a Hugging Face dataset) is read back with its providers, ranks and "
                                   "collection times.")
    p.add_argument("file", type=Path, help="the released file (.json or .jsonl), or an exported dataset folder")
    p.add_argument("--out", required=True, type=Path, help="store directory (created when missing)")
    p.add_argument("--provider", default="released",
                   help="provider name for the rows of a file (default: released; an exported folder keeps its own)")
    p.add_argument("--note", help="a note kept with the store and shown by `actionhub stats`")
    p.add_argument("--json", action="store_true", help="print the import summary as JSON")
    add_progress_flag(p)
    p.set_defaults(func=run_import)
