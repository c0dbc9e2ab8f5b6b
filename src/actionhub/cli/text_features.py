"""`actionhub text-features`: encode a benchmark's class definitions (AD) and top-k descriptions (VC)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from actionhub.cli.common import (
    CliError,
    add_curation_flag,
    add_progress_flag,
    add_threads_flag,
    check_output_file,
    curation_line,
    non_negative_int,
    positive_int,
)


def run(a: argparse.Namespace) -> int:
    from actionhub.text import DEFAULT_ENCODER
    from actionhub.text.build import DEFAULT_DEFINITION_TEMPLATE, build_benchmark_class_text, format_quality
    from actionhub.utils.parallel import get_backend
    from actionhub.utils.threads import torch_threads

    check_output_file(a.out)
    if a.out.suffix not in (".npz", ".parquet"):
        raise CliError(f"--out must end in .npz or .parquet, got {a.out}")
    try:
        backend = get_backend(a.backend, a.scheduler) if a.backend == "dask" else None
    except (ValueError, ImportError, OSError) as e:
        raise CliError(f"cannot use --backend {a.backend}: {e}") from None
    if a.prompt and a.template:
        raise CliError("pass --prompt (class names in prompt templates) or --template (how a definition is "
                       "encoded), not both")
    common = dict(descriptions=a.descriptions, encoder=a.encoder or DEFAULT_ENCODER, k=a.k,
                  cache=False if a.no_cache else (a.cache or True), batch_size=a.batch_size, backend=backend,
                  progress=not a.no_progress, min_descriptions=a.min_descriptions,
                  curation=not a.ignore_curation, overwrite=a.overwrite)
    try:
        with torch_threads(a.threads):
            if a.prompt:
                from actionhub.text.prompts import build_benchmark_prompt_text

                ct = build_benchmark_prompt_text(a.benchmark, a.out, a.prompt, **common)
            else:
                ct = build_benchmark_class_text(a.benchmark, a.out,
                                                template=a.template or DEFAULT_DEFINITION_TEMPLATE,
                                                class_report=a.class_report, **common)
    except ImportError as e:
        raise CliError(str(e)) from None
    finally:
        if backend is not None:
            backend.close()
    m = ct.meta
    if a.json:
        print(json.dumps({k: v for k, v in m.items() if k != "matches"}, indent=2, ensure_ascii=False))
        return 0
    print(f"{m['benchmark']}: {m['num_classes']} classes, {m['dim']}-d features from {m['encoder']}")
    if m.get("prompts"):
        print(f"class names in {len(m['prompts'])} prompt template(s), ensembled: " + "; ".join(m["prompts"]))
    if m["descriptions"] is None:
        print("AD-only: no --descriptions given")
    else:
        mt = m["matched"]
        print(f"descriptions for {m['num_with_descriptions']} classes ({m['num_descriptions']:,} texts, top {m['k']}); "
              f"matched {mt['exact']} exactly, {mt['name']} by name key, {mt['normalize_action']} by normalize_action")
        r = m.get("ranked")
        if r:
            what = [f"{r['cut']:,} below the relevance cut-off ({r['min_relevance'] or 'none'})"]
            if r["siblings"]:
                what.append(f"{r['siblings']:,} of more specific queries ({r.get('siblings_mode') or 'siblings'})")
            if r["claimed"]:
                what.append(f"{r['claimed']:,} that fit another action better")
            print(f"ranked by {r['ranker']}: of {r['rows']:,} stored descriptions of the {r['actions']} matched "
                  "actions, "
                  f"{r['candidates']:,} scored, {r['kept']:,} kept; cut: " + ", ".join(what)
                  + f"; {r['object_only']:,} scored as object-only")
        print("check: " + format_quality(m["quality"]))
        if m.get("class_report"):
            print(f"every class with its descriptions, what was cut and why: {m['class_report']}")
        if curation_line(m.get("curation")):
            print(curation_line(m.get("curation")))
    print(f"wrote {a.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("text-features", help="encode class definitions and top-k descriptions",
                       description="Build the class text features file the CoCo trainer reads: for every class "
                                   "of a benchmark, a frozen text encoder's feature of its definition (AD) and of "
                                   "its top-k descriptions from `actionhub rank` output (VC). Encoded texts are "
                                   "cached, so a rerun encodes only new text.")
    p.add_argument("--benchmark", required=True, help="benchmark name (see `actionhub benchmarks list`)")
    p.add_argument("--descriptions", type=Path, metavar="TOPK",
                   help="ranked descriptions (topk.parquet from `actionhub rank`); without it: AD-only")
    p.add_argument("--k", type=positive_int, default=100, help="descriptions per class, in rank order (default: 100)")
    p.add_argument("--min-descriptions", type=non_negative_int, metavar="N",
                   help="report classes with fewer than N descriptions (default: --k); classes without any and "
                        "classes of unusually low relevance are always reported, in one short summary")
    p.add_argument("--encoder", default=None,
                   help="text encoder: minilm (default, offline), st:<path-or-name> (sentence-transformers), "
                        "bert:<path-or-name> (mean pooling; the paper uses bert:bert-base-uncased), "
                        "hf-clip:<path-or-name> / hf-xclip:<path-or-name> (the text tower of the CLIP / X-CLIP model "
                        "of --backbone hf-clip:/hf-xclip:; 77 tokens, longer texts truncated with a warning)")
    p.add_argument("--out", required=True, type=Path, help="output file, .npz or .parquet")
    p.add_argument("--class-report", type=Path, metavar="FILE",
                   help="per-class table (status none/few/ok, descriptions kept, matched actions, what ranking cut, "
                        "a sample), tab-separated (default: --out with .classes.tsv)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--template", help="how a definition is encoded (default: '{name}: {definition}'); '{name}' encodes "
                                      "the class "
                        "names alone (no definitions needed: ER's GCN node inputs)")
    p.add_argument("--prompt", action="append", metavar="TEMPLATE",
                   help="encode the class names in this prompt template instead of the definitions (repeatable: "
                        "CLIP's prompt ensemble, the mean of the L2-normalised embeddings); the template must hold "
                        "{name}, e.g. 'a video of a person {name}.' (the CLIP-era zero-shot rows, docs/clip.md)")
    p.add_argument("--cache", type=Path, metavar="DIR",
                   help="encoded-text cache directory (default: $ACTIONHUB_CACHE/text, else "
                        "$XDG_CACHE_HOME/actionhub/text, else ~/.cache/actionhub/text)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the encoded-text cache")
    p.add_argument("--batch-size", type=positive_int, default=64, help="texts per encoder batch (default: 64)")
    p.add_argument("--backend", choices=("inprocess", "dask"), default="inprocess",
                   help="where to encode: in this process, or chunks on a Dask cluster")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address for --backend dask, e.g. tcp://host:8786")
    p.add_argument("--json", action="store_true", help="print the file's metadata as JSON")
    add_curation_flag(p)
    add_progress_flag(p)
    add_threads_flag(p)
    p.set_defaults(func=run)
