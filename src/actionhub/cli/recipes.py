"""`actionhub recipes list|show`: the recipes `actionhub train --config` takes (the paper's rows, the demo)."""
from __future__ import annotations

import argparse
import json


def run_list(a: argparse.Namespace) -> int:
    from actionhub.recipes import list_recipes, load_recipe

    recipes = [load_recipe(n) for n in list_recipes()]
    if a.json:
        print(json.dumps([{"name": r.name, "benchmark": r.benchmark, "method": r.method or "coco",
                           "splits": list(r.splits or []), "synthetic": r.synthetic is not None,
                           "paper": r.paper, "description": r.description} for r in recipes], indent=2))
        return 0
    rows = [(r.name, r.benchmark or "-", r.method or "coco", str(len(r.splits)) if r.splits else "any",
             r.paper or "") for r in recipes]
    head = ("recipe", "benchmark", "method", "splits", "paper row")
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    for row in (head, tuple("-" * w for w in widths), *rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print("\ntrain one: actionhub train --config NAME --split S [--features F --text-features T] --out DIR "
          "(demo/* recipes are SYNTHETIC and need no files);\nrun a training-free one (method clip-zs): actionhub "
          "evaluate --zero-shot clip --config NAME --features F --text-features T")
    return 0


def run_show(a: argparse.Namespace) -> int:
    from actionhub.recipes import load_recipe

    r = load_recipe(a.recipe)
    if a.json:
        print(json.dumps({**r.record(), "config": r.config().to_dict()}, indent=2))
        return 0
    print(f"# {r.name}  ({r.path})")
    print(r.path.read_text(encoding="utf-8").rstrip())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("recipes", help="list and show the recipes for `train --config` (the paper's rows, the demo)",
                       description="Recipes are TOML files that fix one experiment: benchmark, splits, method, "
                                   "class text, CIM, k, alpha, schedule. The packaged ones reproduce rows of the "
                                   "paper's Tables 2-4 and the demo's SYNTHETIC runs (docs/recipes.md).")
    rs = r.add_subparsers(dest="recipes_cmd", required=True, metavar="{list,show}")
    ls = rs.add_parser("list", help="the packaged recipes with their paper rows")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=run_list)
    sh = rs.add_parser("show", help="print one recipe file")
    sh.add_argument("recipe", help="a packaged recipe name (e.g. table2/coco) or a TOML file")
    sh.add_argument("--json", action="store_true", help="print the parsed recipe and the config it resolves to")
    sh.set_defaults(func=run_show)
