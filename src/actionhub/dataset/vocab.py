"""The ActionHub action vocabulary: search queries built from the label lists of seven action datasets.

Sec. 3.2 of the paper (1,490 names -> 1,211 queries there). :func:`normalize_action` turns a name
into its query: split CamelCase/underscores/``+``/``/``, drop a parenthetical example, remove stop
words (``data/stopwords_en.txt``; particles such as "up", "off" and the negation "not" stay),
lemmatise with lemminflect (the word rules, incl. :data:`GERUND_SPORTS`, are in the docs).
:func:`build_vocabulary` applies it to the seven lists of :data:`SOURCE_DATASETS` and merges names
whose queries are equal up to spaces, keeping each query's provenance; a parenthetical is kept
where dropping it would merge two classes of one dataset.
Docs: docs/dataset.md#1-action-vocabulary-actionhub-vocab
"""
from __future__ import annotations

import csv
import io
import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

from actionhub.dataset.wordvec import tokenize
from actionhub.utils import jsontext
from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_write_text
from actionhub.utils.textfile import open_text_file, read_text_file

__all__ = [
    "SOURCE_DATASETS",
    "GERUND_SPORTS",
    "VocabError",
    "SourceName",
    "Query",
    "Vocabulary",
    "normalize_action",
    "action_key",
    "lemmatize_word",
    "stop_words",
    "label_names",
    "build_vocabulary",
    "read_queries",
]

log = logging.getLogger(__name__)

# The seven source datasets of ActionHub (paper Sec. 3.2), as label files in data/labels/.
# Kinetics-700 stands for Kinetics-400/600 too (all but ten renamed 400-classes are in it;
# the shipped kinetics400.txt / kinetics600.txt are not sources). Together 1,487 names.
SOURCE_DATASETS: tuple[str, ...] = (
    "kinetics700",
    "moments_in_time339",
    "activitynet200",
    "ava80",
    "hmdb51",
    "ucf101",
    "olympic_sports16",
)

# Sports named by a gerund whose verb lemma means something else ("bowl", "box", "fence", "curl").
GERUND_SPORTS = frozenset({"bowling", "boxing", "fencing", "curling"})

# Names of the datasets a user's own names get (build_vocabulary(extra_names=...)).
USER_DATASET = "user"

_PAREN = re.compile(r"\(([^()]*)\)")


class VocabError(UserError):
    """A vocabulary input (label file, query list) is missing or malformed."""


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """The stop words of ``data/stopwords_en.txt`` (written for ActionHub; ``#`` comments skipped)."""
    text = resources.files("actionhub").joinpath("data/stopwords_en.txt").read_text(encoding="utf-8")
    words = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return frozenset(w for w in words if w)


def lemminflect_module():
    """The ``lemminflect`` module (imported on first use), or an ImportError that names the extra."""
    try:
        import lemminflect  # noqa: PLC0415
    except ImportError as e:  # pragma: no cover - installed with the text extra
        raise ImportError("action-name lemmatisation needs lemminflect: pip install lemminflect "
                          "(or pip install 'actionhub[text]')") from e
    return lemminflect


@lru_cache(maxsize=500_000)
def lemmatize_word(word: str, first: bool = True) -> str:
    """Lemma of one lower-case word (see the module docstring for the rules).

    ``first`` says the word opens its phrase, where an "-ing" word is read as a verb even when it
    is also a noun ("painting fence" -> "paint fence"); later "-ing" nouns stay ("put on clothing").
    Context-free callers (indexing captions) pass ``first=True`` for every word.
    """
    if not word or not word.isalpha() or word in GERUND_SPORTS:
        return word
    inflected = (word.endswith("ing") and len(word) > 4) or (word.endswith("s") and not word.endswith("ss")) \
        or word.endswith("ed")
    if not inflected:  # every rule below returns such a word unchanged: skip the dictionary look-up
        return word
    lm = lemminflect_module()
    lemmas = lm.getAllLemmas(word)
    if word.endswith("ing") and len(word) > 4:
        verb = lemmas.get("VERB")
        noun = lemmas.get("NOUN")
        if verb and (first or not noun or noun[0] != word):
            return verb[0]
        if not lemmas:
            return lm.getLemma(word, upos="VERB", lemmatize_oov=True)[0] or word
        return word
    if word.endswith("s") and not word.endswith("ss"):  # plural noun (or 3rd person verb)
        if "NOUN" in lemmas:
            return lemmas["NOUN"][0]
        if "VERB" in lemmas:
            return lemmas["VERB"][0]
        if not lemmas and len(word) > 3:
            return lm.getLemma(word, upos="NOUN", lemmatize_oov=True)[0] or word
        return word
    if word.endswith("ed") and "VERB" in lemmas:
        return lemmas["VERB"][0]
    return word  # irregular forms stay: "dice" is not "die", "graffiti" not "graffito"


def _split_parentheticals(name: str) -> tuple[str, list[str]]:
    """``"give/serve (an object) to (a person)"`` -> ``("give/serve  to ", ["an object", "a person"])``."""
    return _PAREN.sub(" ", name), _PAREN.findall(name)


def _phrase(text: str) -> list[str]:
    """Query words of free text: tokens minus stop words, lemmatised (first word as a verb)."""
    stops = stop_words()
    toks = [t for t in tokenize(text) if t]
    kept = [t for t in toks if t not in stops] or toks  # a name made only of stop words keeps them
    return [lemmatize_word(t, first=(i == 0)) for i, t in enumerate(kept)]


def normalize_action(name: str, keep_parenthetical: bool = False) -> str:
    """The query string of an action name: lower-case lemmas without stop words, space-separated.

    ``"PlayingGuitar"`` -> ``"play guitar"``, ``"riding_horse"`` -> ``"ride horse"``,
    ``"adult+female+singing"`` -> ``"adult female sing"``, ``"skiing (not slalom or crosscountry)"``
    -> ``"ski"``, ``"kick (a person)"`` -> ``"kick"`` (``"kick person"`` with
    ``keep_parenthetical=True``; :func:`build_vocabulary` decides that per dataset). A name
    without any word gives ``""``.
    """
    base, parens = _split_parentheticals(str(name))
    text = " ".join([base, *parens]) if keep_parenthetical else base
    words = _phrase(text)
    if not words and not keep_parenthetical and parens:  # "(something)" alone: use what there is
        words = _phrase(" ".join(parens))
    return " ".join(words)


def action_key(text: str) -> str:
    """Matching key of an action in any spelling: its query without spaces.

    ``action_key("PushUps") == action_key("pushup") == action_key("push up") == "pushup"``.
    Use it to match benchmark class names to store actions (:meth:`Vocabulary.query_for` also
    knows the source names whose parenthetical was kept).
    """
    return normalize_action(text).replace(" ", "")


@dataclass(frozen=True)
class SourceName:
    """One original action name and the dataset it comes from."""

    dataset: str
    name: str


@dataclass
class Query:
    """A de-duplicated query and every source name merged into it (in source order)."""

    query: str
    sources: list[SourceName] = field(default_factory=list)

    @property
    def datasets(self) -> list[str]:
        """Distinct datasets of the sources, in order."""
        return list(dict.fromkeys(s.dataset for s in self.sources))

    def to_dict(self) -> dict:
        return {"query": self.query, "sources": [{"dataset": s.dataset, "name": s.name} for s in self.sources]}


class Vocabulary:
    """Queries with provenance; built by :func:`build_vocabulary` or loaded from its CSV/JSON."""

    def __init__(self, queries: Sequence[Query]):
        self.queries: list[Query] = list(queries)
        self._by_query = {q.query: q for q in self.queries}
        self._by_key = {q.query.replace(" ", ""): q for q in self.queries}
        self._by_source: dict[str, Query] = {}
        self._by_source_key: dict[str, Query] = {}
        for q in self.queries:
            for s in q.sources:
                self._by_source.setdefault(s.name, q)
                self._by_source_key.setdefault(_name_key(s.name), q)

    def __len__(self) -> int:
        return len(self.queries)

    def __iter__(self):
        return iter(self.queries)

    def __contains__(self, query: str) -> bool:
        return query in self._by_query

    def __getitem__(self, query: str) -> Query:
        return self._by_query[query]

    @property
    def num_source_names(self) -> int:
        """Number of (dataset, name) source entries (the paper's 1,490 names)."""
        return sum(len(q.sources) for q in self.queries)

    def lookup(self, name: str) -> Query | None:
        """The query a name belongs to: an exact source name, the same name in another spelling,
        or any text whose normalised form (up to spaces) is a query; None when there is none."""
        q = self._by_source.get(name) or self._by_source_key.get(_name_key(name))
        if q is not None:
            return q
        norm = normalize_action(name)
        return self._by_query.get(norm) or self._by_key.get(norm.replace(" ", ""))

    def query_for(self, name: str) -> str:
        """The query string of ``name``: its vocabulary query, else :func:`normalize_action` of it."""
        q = self.lookup(name)
        return q.query if q is not None else normalize_action(name)

    def merges(self) -> list[Query]:
        """Queries that merge two or more source names, most sources first."""
        return sorted((q for q in self.queries if len(q.sources) > 1), key=lambda q: (-len(q.sources), q.query))

    def to_json(self) -> dict:
        """``{"num_source_names", "num_queries", "queries": [{"query", "sources": [{"dataset", "name"}]}]}``."""
        return {"num_source_names": self.num_source_names, "num_queries": len(self.queries),
                "queries": [q.to_dict() for q in self.queries]}

    def to_csv(self) -> str:
        """CSV text: ``query,num_sources,datasets,names`` (lists joined by ``" | "``)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["query", "num_sources", "datasets", "names"])
        for q in self.queries:
            w.writerow([q.query, len(q.sources), " | ".join(s.dataset for s in q.sources),
                        " | ".join(s.name for s in q.sources)])
        return buf.getvalue()

    def save(self, path: str | Path) -> None:
        """Write the vocabulary atomically: ``.json`` as :meth:`to_json`, anything else as CSV."""
        p = Path(path)
        if p.suffix.lower() == ".json":
            atomic_write_text(p, json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")
        else:
            atomic_write_text(p, self.to_csv())

    @classmethod
    def load(cls, path: str | Path) -> "Vocabulary":
        """Read a vocabulary written by :meth:`save` (CSV with a ``names`` column, or JSON)."""
        p = Path(path)
        if not p.is_file():
            raise VocabError(f"vocabulary file not found: {p} (write one with `actionhub vocab build --out {p}`)")
        if p.suffix.lower() == ".json":
            text = read_text_file(p, "vocabulary file")
            try:
                obj = jsontext.loads(text)
                return cls([Query(d["query"], [SourceName(s["dataset"], s["name"]) for s in d.get("sources", [])])
                            for d in obj["queries"]])
            except (ValueError, KeyError, TypeError) as e:
                raise VocabError(f"{p} is not a vocabulary JSON file ({e}); expected "
                                 '{"queries": [{"query": ..., "sources": [...]}]}') from None
        rows = _read_csv_rows(p)
        out = []
        for r in rows:
            ds = [d.strip() for d in (r.get("datasets") or "").split(" | ")] if r.get("datasets") else []
            names = [n.strip() for n in (r.get("names") or "").split(" | ")] if r.get("names") else []
            out.append(Query(r["query"], [SourceName(d, n) for d, n in zip(ds, names, strict=True)]))
        return cls(out)


def _name_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


@lru_cache(maxsize=16)
def label_names(dataset: str) -> tuple[str, ...]:
    """The class names of a shipped label list (``data/labels/<dataset>.txt``), in source order."""
    f = resources.files("actionhub").joinpath(f"data/labels/{dataset}.txt")
    if not f.is_file():
        known = sorted(p.name[:-4] for p in resources.files("actionhub").joinpath("data/labels").iterdir()
                       if p.name.endswith(".txt"))
        raise VocabError(f"no label list {dataset!r} in the package data; known: {', '.join(known)}")
    return tuple(line.strip() for line in f.read_text(encoding="utf-8").splitlines() if line.strip())


def build_vocabulary(datasets: Iterable[str] = SOURCE_DATASETS,
                     extra_names: Iterable[str] = (),
                     extra_dataset: str = USER_DATASET) -> Vocabulary:
    """Normalise and de-duplicate the names of ``datasets`` (plus the user's ``extra_names``).

    Each source name gives one query (:func:`normalize_action`); a parenthetical is kept for the
    names whose parenthetical-free query equals that of another name of the same dataset.
    Queries equal up to spaces are merged; the merged query takes the spelling most of its sources
    give ("push up" from Kinetics and UCF101 rather than HMDB51's "pushup"), ties going to the
    first source.
    Names without any word are skipped with a warning.
    """
    entries: list[SourceName] = [SourceName(d, n) for d in datasets for n in label_names(d)]
    entries += [SourceName(extra_dataset, n.strip()) for n in extra_names if n and n.strip()]

    base = {e: normalize_action(e.name) for e in entries}
    groups: dict[tuple[str, str], set[str]] = {}
    for e in entries:
        groups.setdefault((e.dataset, base[e]), set()).add(e.name)
    by_key: dict[str, Query] = {}
    spellings: dict[str, dict[str, int]] = {}
    for e in entries:
        clash = len(groups[(e.dataset, base[e])]) > 1 and "(" in e.name
        q = normalize_action(e.name, keep_parenthetical=True) if clash else base[e]
        if not q:
            log.warning("action name %r of %s has no words; skipped", e.name, e.dataset)
            continue
        key = q.replace(" ", "")
        cur = by_key.setdefault(key, Query(q, []))
        if e not in cur.sources:
            cur.sources.append(e)
        counts = spellings.setdefault(key, {})
        counts[q] = counts.get(q, 0) + 1
    for key, cur in by_key.items():  # most common spelling; ties: the first source's (dicts keep order)
        counts = spellings[key]
        cur.query = max(counts, key=lambda s: counts[s])
    return Vocabulary(list(by_key.values()))


def _read_csv_rows(p: Path) -> list[dict[str, str]]:
    with open_text_file(p, "queries file", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "query" not in reader.fieldnames:
            raise VocabError(f"{p} has no 'query' column (columns: {reader.fieldnames}); "
                             "a queries CSV needs a header with a 'query' column")
        return [r for r in reader if (r.get("query") or "").strip()]


def read_queries(path: str | Path) -> list[str]:
    """The queries of a queries file, de-duplicated in file order.

    ``.csv``: the ``query`` column (``actionhub vocab build --out``); ``.json``: the ``queries``
    of ``actionhub vocab build --json`` or a plain list of strings; anything else: one query per
    line (blank lines and ``#`` comments skipped). Queries are used verbatim (stripped).
    """
    p = Path(path)
    if not p.is_file():
        raise VocabError(f"queries file not found: {p} (write one with `actionhub vocab build --out {p}`)")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        qs = [r["query"].strip() for r in _read_csv_rows(p)]
    elif suffix == ".json":
        text = read_text_file(p, "queries file")
        try:
            obj = jsontext.loads(text)
        except ValueError as e:
            raise VocabError(f"{p} is not valid JSON: {e}") from None
        items = obj.get("queries") if isinstance(obj, dict) else obj
        if not isinstance(items, list):
            raise VocabError(f"{p}: expected a list of queries or {{\"queries\": [...]}}")
        qs = [(it.get("query") if isinstance(it, dict) else it) for it in items]
        if not all(isinstance(q, str) for q in qs):
            raise VocabError(f"{p}: every query must be a string (or an object with a 'query' string)")
        qs = [q.strip() for q in qs]
    else:
        qs = [line.split("#", 1)[0].strip() for line in read_text_file(p, "queries file").splitlines()]
    qs = list(dict.fromkeys(q for q in qs if q))
    if not qs:
        raise VocabError(f"{p} lists no queries")
    return qs
