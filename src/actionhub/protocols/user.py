"""Users' own benchmarks: a JSON file in the format of ``actionhub benchmarks show --json``::

    {"name": "my-dataset",
     "splits": [{"seen": ["a", ...], "val": [], "unseen": ["x", ...]}, ...],
     "classes": [...], "definitions": {"a": "text"}, "source": "...", "notes": ["..."]}  # optional

:func:`actionhub.protocols.load_user_benchmark` loads and registers it (``--benchmark FILE.json``);
:func:`check_benchmark_json` lists every problem (``benchmarks check``). Classes without a
definition use their name (``definition_fallbacks``); an empty ``val`` is carved from the seen ones.
Docs: docs/training.md#your-own-benchmark
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from actionhub.protocols.base import Benchmark, Split
from actionhub.utils import jsontext
from actionhub.utils.errors import UserError
from actionhub.utils.names import normalize_name, text_name
from actionhub.utils.textfile import read_text_file

__all__ = ["BenchmarkFileError", "is_benchmark_file", "check_benchmark_json", "benchmark_from_json",
           "read_benchmark_file"]

_KEYS = ("name", "splits", "classes", "definitions", "source", "notes", "num_splits", "split_index")
_PARTS = ("seen", "val", "unseen")


class BenchmarkFileError(UserError):
    """A benchmark JSON file that cannot be used; the message lists every problem."""


def is_benchmark_file(name: str) -> bool:
    """Whether a ``--benchmark`` value names a JSON file rather than a registered protocol."""
    return isinstance(name, (str, Path)) and str(name).lower().endswith(".json")


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def check_benchmark_json(data: Any) -> list[str]:
    """Every problem of a benchmark in the JSON format (empty when it is usable): missing or
    unknown keys, empty seen/unseen sets, duplicate classes, classes outside ``classes``,
    classes both seen and unseen (or val) in one split, definitions of unknown classes."""
    if not isinstance(data, dict):
        return ["the file must hold a JSON object {\"name\": ..., \"splits\": [...]}"]
    errs: list[str] = []
    unknown = [k for k in data if k not in _KEYS]
    if unknown:
        errs.append(f"unknown key(s) {', '.join(map(repr, unknown))}; a benchmark has {', '.join(_KEYS)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errs.append("\"name\" must be a non-empty string")
    classes = data.get("classes")
    known: dict[str, str] | None = None
    if classes is not None:
        if not _strings(classes):
            errs.append("\"classes\" must be a list of non-empty class names")
        else:
            known = {}
            for c in classes:
                key = normalize_name(c)
                if key in known:
                    same = f" (as {known[key]!r})" if known[key] != c else ""
                    errs.append(f"classes: {c!r} is listed twice{same}")
                known[key] = c
    splits = data.get("splits")
    if not isinstance(splits, list) or not splits:
        errs.append("\"splits\" must be a non-empty list of {\"seen\": [...], \"val\": [...], \"unseen\": [...]}")
        splits = []
    for i, sp in enumerate(splits):
        where = f"splits[{i}]"
        if not isinstance(sp, dict):
            errs.append(f"{where} must be an object with seen, val and unseen lists")
            continue
        bad = [k for k in sp if k not in _PARTS]
        if bad:
            errs.append(f"{where}: unknown key(s) {', '.join(map(repr, bad))}; a split has seen, val, unseen")
        parts: dict[str, set[str]] = {}
        for part in _PARTS:
            vals = sp.get(part, [] if part == "val" else None)
            if vals is None:
                errs.append(f"{where}: no \"{part}\" list")
                continue
            if not isinstance(vals, list) or (vals and not _strings(vals)):
                errs.append(f"{where}.{part} must be a list of class names")
                continue
            if not vals and part != "val":
                errs.append(f"{where}.{part} is empty: a split needs at least one {part} class")
            keys = [normalize_name(v) for v in vals]
            times = Counter(keys)   # one pass: a file of 50,000 classes is checked in linear time
            dup = sorted({v for v, k in zip(vals, keys, strict=True) if times[k] > 1})
            if dup:
                errs.append(f"{where}.{part}: duplicate class(es) {', '.join(map(repr, dup))}")
            if known is not None:
                out = [v for v, k in zip(vals, keys, strict=True) if k not in known]
                if out:
                    errs.append(f"{where}.{part}: {len(out)} class(es) not in \"classes\": "
                                + ", ".join(map(repr, out[:5])) + (" ..." if len(out) > 5 else ""))
            parts[part] = set(keys)
        for a, b in (("seen", "unseen"), ("seen", "val"), ("val", "unseen")):
            both = parts.get(a, set()) & parts.get(b, set())
            if both:
                errs.append(f"{where}: {len(both)} class(es) both {a} and {b}: " + ", ".join(sorted(both)[:5]))
    defs = data.get("definitions")
    if defs is not None:
        if not isinstance(defs, dict) or not all(isinstance(v, str) for v in defs.values()):
            errs.append("\"definitions\" must map class names to definition texts")
        else:
            names = ({normalize_name(c) for c in classes} if known is not None else
                     {normalize_name(c) for sp in splits if isinstance(sp, dict)
                      for part in _PARTS for c in (sp.get(part) or []) if isinstance(c, str)})
            extra = [c for c in defs if normalize_name(c) not in names]
            if extra:
                errs.append(f"definitions: {len(extra)} class(es) in no split: " + ", ".join(map(repr, extra[:5])))
    return errs


def benchmark_from_json(data: dict[str, Any], where: str = "") -> Benchmark:
    """A :class:`Benchmark` from the JSON format; :class:`BenchmarkFileError` listing every
    problem (:func:`check_benchmark_json`) when it does not fit."""
    errs = check_benchmark_json(data)
    if errs:
        raise BenchmarkFileError(f"{where}{len(errs)} problem(s):\n  " + "\n  ".join(errs)
                                 + "\n(`actionhub benchmarks check FILE.json` lists them; the format is that of "
                                 "`actionhub benchmarks show NAME --json`)")
    order: dict[str, str] = {}
    for c in data.get("classes") or [c for sp in data["splits"] for p in _PARTS for c in sp.get(p, [])]:
        order.setdefault(normalize_name(c), c)
    canon = lambda c: order[normalize_name(c)]  # noqa: E731
    defs_in = {normalize_name(k): v.strip() for k, v in (data.get("definitions") or {}).items() if v.strip()}
    defs, fallbacks = {}, []
    for key, c in order.items():
        if key in defs_in:
            defs[c] = defs_in[key]
        else:
            defs[c] = text_name(c)
            fallbacks.append(c)
    splits = tuple(Split(*(tuple(canon(c) for c in sp.get(p, [])) for p in _PARTS)) for sp in data["splits"])
    notes = list(data.get("notes") or [])
    if fallbacks:
        notes.append(f"{len(fallbacks)} class(es) have no definition and use their name as text")
    try:
        return Benchmark(name=data["name"], classes=tuple(order.values()), splits=splits, definitions=defs,
                         source=str(data.get("source") or f"user benchmark {where.rstrip(': ')}"), notes=tuple(notes),
                         select_epoch_on_val=any(sp.val for sp in splits), definition_fallbacks=tuple(fallbacks))
    except BenchmarkFileError:
        raise
    except ValueError as e:   # what the Benchmark itself refuses (e.g. names that collide)
        raise BenchmarkFileError(f"{where}{e}") from None


def read_benchmark_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise BenchmarkFileError(f"benchmark file {p} not found; pass a JSON file in the format of "
                                 "`actionhub benchmarks show NAME --json`, or a name from `actionhub benchmarks list`")
    try:
        return jsontext.loads(read_text_file(p, "benchmark file"))
    except json.JSONDecodeError as e:
        raise BenchmarkFileError(f"{p} is not valid JSON: {e}") from None
