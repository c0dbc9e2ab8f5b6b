"""Class text features of a benchmark: encoded action definitions (AD) and top-k descriptions (VC).

For every class ``c`` (paper Eq. 2 and 5): AD is the frozen text encoder's feature of
``DEFAULT_DEFINITION_TEMPLATE.format(name=text_name(c), definition=definitions[c])``; VC the features of
its top-k descriptions of a ranked file (:data:`actionhub.dataset.rank.TOPK_COLUMNS`), most relevant first.
Classes are matched to the file's actions by text name, then :func:`actionhub.utils.names.normalize_name`,
then :func:`actionhub.dataset.vocab.normalize_action`; a class without descriptions falls back to AD.
The result is a :class:`actionhub.text.class_text.ClassText` (the file the CoCo trainer reads).

Docs: docs/text.md#4-class-text-features-actionhub-text-features
"""
from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from actionhub.dataset.curation import filter_ranked
from actionhub.text.base import DEFAULT_ENCODER, TextEncoder
from actionhub.text.cache import TextCache
from actionhub.text.class_text import ClassText
from actionhub.text.coverage import class_coverage, ranked_report, write_class_report
from actionhub.text.encode import encode_texts
from actionhub.text.encoders import encoder_id
from actionhub.utils.errors import UserError
from actionhub.utils.lock import locks_output
from actionhub.utils.names import listing, normalize_name, text_name

__all__ = [
    "DEFAULT_DEFINITION_TEMPLATE",
    "TextFeatError",
    "definition_texts",
    "read_descriptions",
    "match_classes",
    "build_class_text",
    "build_benchmark_class_text",
    "description_quality",
    "format_quality",
    "class_report_path",
]

log = logging.getLogger(__name__)

DEFAULT_DEFINITION_TEMPLATE = "{name}: {definition}"
NEEDED_COLUMNS = ("action", "rank", "description")


class TextFeatError(UserError):
    """Bad input for building class text features; the message says how to fix it."""


# ---------------------------------------------------------------------------- inputs
def definition_texts(classes: Sequence[str], definitions: Mapping[str, str],
                     template: str = DEFAULT_DEFINITION_TEMPLATE) -> list[str]:
    """The AD text encoded for each class (see the module doc). A template without
    ``{definition}`` (e.g. ``"{name}"``: the class names alone, the node inputs of ER's GCN run)
    needs no definitions."""
    if "{definition}" not in template and "{name}" not in template:
        raise TextFeatError(f"the definition template must contain {{definition}} or {{name}}: {template!r}")
    if "{definition}" not in template:
        return [_format(template, text_name(c), "") for c in classes]
    missing = [c for c in classes if not str(definitions.get(c, "")).strip()]
    if missing:
        raise TextFeatError(f"{len(missing)} class(es) have no definition: {missing[:10]}")
    out = []
    for c in classes:
        name, definition = text_name(c), str(definitions[c]).strip()
        if normalize_name(definition) == normalize_name(name):
            out.append(name)
            continue
        out.append(_format(template, name, definition))
    return out


def _format(template: str, name: str, definition: str) -> str:
    try:
        return template.format(name=name, definition=definition)
    except (KeyError, IndexError, ValueError) as e:
        raise TextFeatError(f"bad definition template {template!r}: {e}; use the fields "
                            "{name} and {definition}") from e


def read_descriptions(path: str | Path) -> Any:
    """The ranked descriptions file (``actionhub rank`` output) as a ``pyarrow.Table``."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    path = Path(path)
    if not path.is_file():
        raise TextFeatError(f"descriptions file not found: {path}. Make one with "
                            "`actionhub rank STORE --out topk.parquet`, or leave --descriptions out for AD-only.")
    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for unreadable files
        raise TextFeatError(f"cannot read descriptions {path} as Parquet: {e}") from e
    _check_columns(table, str(path))
    return table


def _check_columns(table: Any, where: str) -> None:
    from actionhub.utils.columns import INTEGER, TEXT, check_columns  # noqa: PLC0415

    missing = [c for c in NEEDED_COLUMNS if c not in table.column_names]
    if missing:
        raise TextFeatError(f"{where} lacks column(s) {missing}; it has {table.column_names}. Pass the output of "
                            "`actionhub rank` (columns action, rank, score, provider, video_id, description).")
    check_columns(table.schema, {"action": TEXT, "description": TEXT, "rank": INTEGER}, where, TextFeatError)


def _normalize_action() -> Callable[[str], str] | None:
    """Matching key of rule 3: the ActionHub query of a name (:mod:`actionhub.dataset.vocab`) without spaces.

    The vocabulary's own query is used where a name is one of its source names (it keeps the
    parentheticals that tell two classes apart: Kinetics' "passing American football (in game)"
    and "(not in game)"), else ``normalize_action``. None when :mod:`actionhub.dataset.vocab` is missing.
    """
    try:
        vocab = importlib.import_module("actionhub.dataset.vocab")
    except ImportError:
        log.info("actionhub.dataset.vocab is not available; matching classes to actions by names only")
        return None
    norm = getattr(vocab, "normalize_action", None)
    if norm is None:
        log.info("actionhub.dataset.vocab has no normalize_action; matching classes to actions by names only")
        return None
    try:
        query = vocab.build_vocabulary().query_for
    except Exception as e:  # noqa: BLE001 - the shipped vocabulary is an optional refinement
        log.info("the ActionHub vocabulary could not be built (%s); using normalize_action alone", e)
        query = norm
    return lambda s: query(s).replace(" ", "")


def match_classes(classes: Sequence[str], actions: Sequence[str]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Which ``actions`` (of a ranked file) describe each class.

    Returns ``{class: [action, ...]}`` for matched classes and the number of classes matched
    by each rule: ``{"exact": .., "name": .., "normalize_action": ..}`` (see the module doc).
    """
    actions = list(dict.fromkeys(str(a) for a in actions))
    rules: list[tuple[str, Callable[[str], str]]] = [
        ("exact", lambda s: " ".join(s.lower().split())),
        ("name", normalize_name),
    ]
    norm = _normalize_action()
    if norm is not None:
        rules.append(("normalize_action", norm))
    found: dict[str, list[str]] = {}
    counts = {"exact": 0, "name": 0, "normalize_action": 0}
    for rule, key in rules:
        todo = [c for c in classes if c not in found]
        if not todo:
            break
        by_key: dict[str, list[str]] = {}
        for a in actions:
            k = key(a)
            if k:
                by_key.setdefault(k, []).append(a)
        for c in todo:
            hits = by_key.get(key(text_name(c))) or by_key.get(key(c))
            if hits:
                found[c] = hits
                counts[rule] += 1
    return found, counts


def class_rows(table: Any, matches: Mapping[str, list[str]], classes: Sequence[str], k: int) -> list[np.ndarray]:
    """Per class, up to ``k`` row indices of ``table`` in rank order (merged actions: by score)."""
    import pyarrow.compute as pc  # noqa: PLC0415

    enc = table.column("action").combine_chunks().dictionary_encode()
    names = [str(a) for a in enc.dictionary.to_pylist()]
    aid = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
    rank = pc.fill_null(table.column("rank"), 2**31 - 1).to_numpy()
    score = (pc.fill_null(table.column("score"), float("nan")).to_numpy().astype(np.float64)
             if "score" in table.column_names else np.full(len(aid), np.nan))
    desc_ok = pc.fill_null(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(table.column("description"))), 0),
                           False).to_numpy(zero_copy_only=False)
    keys = None
    if "provider" in table.column_names and "video_id" in table.column_names:
        keys = np.asarray([f"{p}\0{v}" for p, v in zip(table.column("provider").to_pylist(),
                                                        table.column("video_id").to_pylist(), strict=True)],
                                                        dtype=object)
    valid = np.flatnonzero((aid >= 0) & desc_ok)
    order = valid[np.lexsort((valid, rank[valid], aid[valid]))]  # by action, then rank, then position
    bounds = np.searchsorted(aid[order], np.arange(len(names) + 1))
    rows_of = {n: order[bounds[i]:bounds[i + 1]] for i, n in enumerate(names)}
    out = []
    for c in classes:
        acts = matches.get(c, [])
        if not acts:
            out.append(np.zeros(0, np.int64))
            continue
        rows = np.concatenate([rows_of[a] for a in acts])
        if len(acts) > 1:  # merge: by score (NaN last), then rank, then position
            key = -score[rows]
            key[np.isnan(key)] = np.inf
            rows = rows[np.lexsort((rows, rank[rows], key))]
        if keys is not None and len(acts) > 1:
            _, first = np.unique(keys[rows], return_index=True)
            rows = rows[np.sort(first)]
        out.append(rows[:k].astype(np.int64))
    return out


# --------------------------------------------------------------------------- quality
def _examples(pairs: list[tuple[str, Any]], show: int) -> list[list[Any]]:
    return [[c, v] for c, v in pairs[:show]]


def description_quality(classes: Sequence[str], rows: Sequence[np.ndarray], table: Any, minimum: int,
                        show: int = 5, coverage: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Which classes' descriptions deserve a look, as counts plus a few examples each.

    * ``without``: classes with no description (their class text falls back to AD only);
    * ``few``: classes with at least one but fewer than ``minimum`` descriptions;
    * ``noisy`` (a ranked file whose report has ``per_action``, i.e. from this version's ``rank``):
      classes whose actions the quality report warns about (:mod:`actionhub.dataset.quality`:
      object-only captions, relaxed matches only, a weak best score), most likely noisy first;
    * ``low_relevance`` (older ranked files only): classes whose mean relevance score is below
      ``Q1 - 1.5 * IQR`` of the class means (Tukey's fence). GloVe scores favour short object-only
      captions, so this flag can point the wrong way; rank again to get ``noisy``.
    """
    num = [len(r) for r in rows]
    without = [c for c, n in zip(classes, num, strict=True) if n == 0]
    few = sorted(((c, n) for c, n in zip(classes, num, strict=True) if 0 < n < minimum), key=lambda x: (x[1], x[0]))
    out: dict[str, Any] = {
        "minimum": int(minimum),
        "without": {"count": len(without), "examples": without[:show]},
        "few": {"count": len(few), "examples": _examples(few, show)},
        "low_relevance": {"count": 0, "examples": [], "threshold": None},
        "noisy": {"count": 0, "examples": []},
    }
    if coverage is not None and any(r.get("noise") is not None for r in coverage):
        flagged = sorted(((r["class"], r["noise"]) for r in coverage if r.get("warnings") and r["descriptions"]),
                         key=lambda x: (-x[1], x[0]))
        out["noisy"] = {"count": len(flagged), "examples": _examples(flagged, show)}
    elif "score" in table.column_names and any(num):
        import pyarrow.compute as pc  # noqa: PLC0415

        score = pc.fill_null(table.column("score"), float("nan")).to_numpy().astype(np.float64)
        means = {c: float(np.nanmean(score[r])) for c, r in zip(classes, rows, strict=True)
                 if len(r) and not np.all(np.isnan(score[r]))}
        if len(means) >= 4:
            q1, q3 = np.percentile(list(means.values()), [25, 75])
            fence = q1 - 1.5 * (q3 - q1)
            low = sorted(((c, round(m, 3)) for c, m in means.items() if m < fence), key=lambda x: (x[1], x[0]))
            out["low_relevance"] = {"count": len(low), "examples": _examples(low, show),
                                    "threshold": round(float(fence), 3)}
    return out


def format_quality(q: Mapping[str, Any]) -> str:
    """One line for :func:`description_quality` (counts, a few names each; the full lists are data)."""
    def names(part: Mapping[str, Any], with_values: bool) -> str:
        ex = [f"{c} ({v})" for c, v in part["examples"]] if with_values else list(part["examples"])
        return listing(ex, part["count"])

    bits = []
    if q["without"]["count"]:
        bits.append(f"{q['without']['count']} without any (AD only): {names(q['without'], False)}")
    if q["few"]["count"]:
        bits.append(f"{q['few']['count']} with fewer than {q['minimum']}: {names(q['few'], True)}")
    if q.get("noisy", {}).get("count"):
        bits.append(f"{q['noisy']['count']} whose descriptions look noisy (likely-noise score): "
                    f"{names(q['noisy'], True)}")
    if q["low_relevance"]["count"]:
        bits.append(f"{q['low_relevance']['count']} with unusually low relevance (mean score below "
                    f"{q['low_relevance']['threshold']}): {names(q['low_relevance'], True)}")
    return "; ".join(bits) if bits else "every class has enough descriptions of ordinary relevance"


# ------------------------------------------------------------------------------- API
def build_class_text(
    classes: Sequence[str],
    definitions: Mapping[str, str],
    descriptions: Any = None,
    encoder: str | TextEncoder = DEFAULT_ENCODER,
    k: int = 100,
    *,
    template: str = DEFAULT_DEFINITION_TEMPLATE,
    cache: TextCache | str | Path | bool = True,
    batch_size: int = 64,
    backend: Any = None,
    progress: bool = True,
    meta: Mapping[str, Any] | None = None,
    min_descriptions: int | None = None,
    curation: bool = True,
    keep_texts: bool = False,
) -> ClassText:
    """Class text features for ``classes``.

    definitions: class -> AD text; descriptions: a ranked ``pyarrow.Table`` (``actionhub rank``
    output), a path to one, or None for AD-only; encoder: a spec (``minilm``, ``st:..``,
    ``bert:..``) or a loaded :class:`TextEncoder`; k: descriptions kept per class (rank order).
    Returns ClassText with ad (C, D), desc (M, D) grouped by class, desc_offsets (C+1,).
    ``meta["quality"]`` (:func:`description_quality`) summarises the classes without descriptions,
    with fewer than ``min_descriptions`` (default: ``k``) and with unusually low relevance; one
    warning line reports them. ``curation``: leave out the rows that curation marks of the store the
    descriptions were ranked from throw out (:func:`actionhub.dataset.curation.filter_ranked`).
    ``keep_texts``: also keep the description texts, in the order of ``desc``, as
    ``meta["description_texts"]`` (for explanations; not meant to be saved).
    """
    if k < 1:
        raise TextFeatError(f"k must be at least 1, got {k}")
    classes = list(classes)
    if not classes:
        raise TextFeatError("no classes to build text features for")
    desc_path = None
    if isinstance(descriptions, (str, Path)):
        desc_path = str(descriptions)
        descriptions = read_descriptions(descriptions)
    elif descriptions is not None:
        _check_columns(descriptions, "the descriptions table")
    curated = None
    if descriptions is not None:
        descriptions, curated = filter_ranked(descriptions, curation)
    ad_texts = definition_texts(classes, definitions, template)

    matches: dict[str, list[str]] = {}
    counts = {"exact": 0, "name": 0, "normalize_action": 0}
    rows: list[np.ndarray] = [np.zeros(0, np.int64)] * len(classes)
    desc_texts: list[str] = []
    if descriptions is not None and descriptions.num_rows:
        actions = descriptions.column("action").combine_chunks().unique().drop_null().to_pylist()
        matches, counts = match_classes(classes, actions)
        rows = class_rows(descriptions, matches, classes, k)
        all_rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        desc_texts = [str(t).strip() for t in descriptions.column("description").take(all_rows).to_pylist()]
    num = np.array([len(r) for r in rows], dtype=np.int64)
    fallback = [c for c, n in zip(classes, num, strict=True) if n == 0]
    quality = None
    coverage: list[dict[str, Any]] = []
    if descriptions is None:
        log.warning("no descriptions given: AD-only class text for all %d classes", len(classes))
    else:
        minimum = k if min_descriptions is None else min_descriptions
        coverage = class_coverage(classes, matches, rows, descriptions, minimum)
        quality = description_quality(classes, rows, descriptions, minimum, coverage=coverage)
        if any(quality[key]["count"] for key in ("without", "few", "low_relevance", "noisy")):
            log.warning("class descriptions: %s", format_quality(quality))

    start = time.perf_counter()
    feats = encode_texts(ad_texts + desc_texts, encoder, cache=cache, batch_size=batch_size,
                         backend=backend, progress=progress, desc="encoding class text")
    spec = encoder.spec if isinstance(encoder, TextEncoder) else str(encoder)
    info: dict[str, Any] = {
        "encoder": spec,
        "encoder_id": encoder.id if isinstance(encoder, TextEncoder) else encoder_id(spec),
        "normalized": bool(np.allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-3)) if len(feats) else None,
        "dim": int(feats.shape[1]),
        "k": int(k),
        "descriptions": desc_path if desc_path is not None else (None if descriptions is None else "<table>"),
        "definition_template": template,
        "matched": counts,
        "num_classes": len(classes),
        "num_with_descriptions": int((num > 0).sum()),
        "num_descriptions": int(num.sum()),
        "fallback": fallback,
        "quality": quality,
        "coverage": coverage,
        "ranked": _ranked_summary(descriptions, matches) if descriptions is not None else None,
        **({"curation": curated} if curated else {}),
        "matches": {c: a for c, a in matches.items() if a != [text_name(c)] and a != [c]},
        "encode_seconds": round(time.perf_counter() - start, 2),
    }
    info.update(meta or {})
    if keep_texts:
        info["description_texts"] = desc_texts
    offsets = np.concatenate([[0], np.cumsum(num)])
    return ClassText(classes, feats[:len(classes)], feats[len(classes):], offsets, info)


def _ranked_summary(table: Any, matches: Mapping[str, list[str]]) -> dict[str, Any] | None:
    """How the ranked file was made and what its ranking cut from the benchmark's actions."""
    report = ranked_report(table)
    if not report:
        return None
    per = report.get("per_action") or {}
    used = sorted({a for acts in matches.values() for a in acts if a in per})
    totals = {key: sum(int(per[a].get(key, 0)) for a in used)
              for key in ("rows", "candidates", "cut", "object_only", "siblings", "claimed", "kept")}
    return {"ranker": report.get("ranker", "glove"), "min_relevance": report.get("min_relevance"),
            "siblings_mode": report.get("siblings"), "actions": len(used), **totals}


@locks_output("out", folder=False, what="output file")
def build_benchmark_class_text(
    benchmark: str,
    out: str | Path | None,
    descriptions: str | Path | None = None,
    encoder: str = DEFAULT_ENCODER,
    k: int = 100,
    class_report: str | Path | None = None,
    overwrite: bool = False,
    **kwargs: Any,
) -> ClassText:
    """:func:`build_class_text` for every class of the benchmark ``benchmark``; saved to ``out``
    (``.npz`` or ``.parquet``) when given: atomically, an existing file only with ``overwrite``, never
    over the ``descriptions`` it reads; with the per-class table (:mod:`actionhub.text.coverage`) in
    ``class_report`` (default: :func:`class_report_path`) when there are descriptions."""
    from actionhub.protocols import get_benchmark  # noqa: PLC0415
    from actionhub.utils.outputs import check_new_file, check_no_overlap  # noqa: PLC0415

    if out is not None:
        check_no_overlap({"--out": out}, {"--descriptions": descriptions if isinstance(descriptions, (str, Path))
                                          else None})
        check_new_file(out, overwrite)   # under the output's lock (the decorator), before any work

    try:
        bench = get_benchmark(benchmark)
    except (KeyError, ValueError) as e:
        raise TextFeatError(str(e).strip("'\"")) from None
    ct = build_class_text(bench.classes, bench.definitions, descriptions, encoder, k,
                          meta={"benchmark": bench.name}, **kwargs)
    if out is not None:
        if ct.meta.get("coverage"):
            report = Path(class_report) if class_report is not None else class_report_path(out)
            Path(report).parent.mkdir(parents=True, exist_ok=True)
            ct.meta["class_report"] = str(write_class_report(report, ct.meta["coverage"]))
        save_class_text(ct, out)
    return ct


def class_report_path(out: str | Path) -> Path:
    """Where ``text-features`` writes its per-class table by default: ``OUT`` with ``.classes.tsv``."""
    return Path(out).with_suffix(".classes.tsv")


def save_class_text(ct: ClassText, out: str | Path) -> None:
    """Write ``ct`` to ``out`` (``.npz`` or ``.parquet``), making its folder."""
    out = Path(out)
    if out.suffix not in (".npz", ".parquet"):
        raise TextFeatError(f"--out must end in .npz or .parquet, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    ct.save(out)
