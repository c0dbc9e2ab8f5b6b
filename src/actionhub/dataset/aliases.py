"""Per-action aliases: extra queries a user gives for an action (``collect --aliases FILE``).

Captions do not always use a class's own words (BaseballPitch: "pitcher throws a curveball"); an alias's captions
are stored under the action itself, and the semantic rankers of ``rank`` use aliases as extra names of the action.
UTF-8 files: JSON ``{"BaseballPitch": ["pitcher throws", "pitching"], "writing on board": "blackboard"}`` or text,
one action a line, ``NAME: alias | alias`` (or ``NAME<TAB>alias | alias``; blank lines and ``#`` comments skipped).
A name is a collected query or any name the vocabulary resolves to one
(:meth:`actionhub.dataset.vocab.Vocabulary.query_for`); a name that matches none is an error listing a few queries.
Docs: docs/dataset.md#aliases
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from actionhub.utils.errors import UserError
from actionhub.utils.textfile import read_text_file

__all__ = ["AliasError", "read_aliases", "resolve_aliases"]


class AliasError(UserError):
    """An alias file that cannot be read or names no collected action."""


def read_aliases(path: str | Path) -> dict[str, list[str]]:
    """``{name: [alias, ...]}`` of an alias file (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise AliasError(f"aliases file not found: {p} (JSON {{\"Name\": [\"alias\", ...]}} or 'Name: alias | alias' "
                         "lines)")
    text = read_text_file(p, "aliases file")
    out: dict[str, list[str]] = {}
    if p.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError as e:
            raise AliasError(f"{p} is not valid JSON: {e}") from None
        if not isinstance(obj, dict):
            raise AliasError(f"{p}: expected an object {{\"Name\": [\"alias\", ...]}}")
        for name, val in obj.items():
            vals = [val] if isinstance(val, str) else val
            if not isinstance(vals, list) or not all(isinstance(v, str) for v in vals):
                raise AliasError(f"{p}: the aliases of {name!r} must be a string or a list of strings")
            out.setdefault(str(name).strip(), []).extend(v.strip() for v in vals if v.strip())
    else:
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            sep = "\t" if "\t" in line else ":"
            name, found, rest = line.partition(sep)
            if not found or not name.strip() or not rest.strip():
                raise AliasError(f"{p}, line {number}: expected 'NAME: alias | alias', got {line[:60]!r}")
            out.setdefault(name.strip(), []).extend(a.strip() for a in rest.split("|") if a.strip())
    out = {k: list(dict.fromkeys(v)) for k, v in out.items() if k and v}
    if not out:
        raise AliasError(f"{p} gives no aliases")
    return out


def resolve_aliases(aliases: Mapping[str, Sequence[str]], queries: Sequence[str]) -> dict[str, list[str]]:
    """``{query: [alias, ...]}``: every name of ``aliases`` resolved to one of ``queries`` (itself,
    the same words in another spelling, or the vocabulary's query of a class name)."""
    from actionhub.dataset.vocab import build_vocabulary, normalize_action  # noqa: PLC0415

    qs = list(queries)
    by_key = {q.replace(" ", "").lower(): q for q in qs}
    vocab = None
    out: dict[str, list[str]] = {}
    unknown = []
    for name, vals in aliases.items():
        q = name if name in qs else by_key.get(normalize_action(name).replace(" ", ""))
        if q is None:
            vocab = vocab or build_vocabulary()
            q = by_key.get(vocab.query_for(name).replace(" ", ""))
        if q is None:
            unknown.append(name)
            continue
        out.setdefault(q, []).extend(v for v in vals if v not in out.get(q, []) and v != q)
    if unknown:
        raise AliasError(f"aliases given for {len(unknown)} name(s) that match none of the {len(qs)} queries: "
                         f"{', '.join(repr(u) for u in unknown[:5])}; use a query (e.g. {qs[0]!r}) or a class "
                         "name of its vocabulary")
    return out
