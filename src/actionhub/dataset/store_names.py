"""Which action of a description store a user's name means ("PlayingGuitar" -> "play guitar")."""
from __future__ import annotations

import difflib

from actionhub.dataset.store_schema import StoreError
from actionhub.utils.types import PathLike

__all__ = ["resolve_action"]


def resolve_action(name: str, actions: list[str], store: PathLike) -> str:
    """The action of ``actions`` (those of the store at ``store``) that ``name`` means: itself, the
    same words in another spelling, or -- for a class name of any benchmark or label list
    (``"PlayingGuitar"``, ``"playing guitar"``) -- its vocabulary query
    (:meth:`actionhub.dataset.vocab.Vocabulary.query_for`). A name that matches no action is a
    :class:`StoreError` naming the closest actions."""
    if name in actions:
        return name
    from actionhub.dataset.vocab import action_key, build_vocabulary  # noqa: PLC0415

    def key(a: str) -> str:
        return "".join(ch for ch in a.lower() if ch.isalnum())

    by_key = {key(a): a for a in actions}
    for cand in (name, build_vocabulary().query_for(name)):
        hit = by_key.get(key(cand))
        if hit is not None:
            return hit
    hit = {action_key(a): a for a in actions}.get(action_key(name))
    if hit is not None:
        return hit
    close = difflib.get_close_matches(name.lower(), actions, n=5, cutoff=0.5)
    hint = f"; the closest: {', '.join(close)}" if close else ""
    raise StoreError(f"no action {name!r} in the store {store} ({len(actions)} actions{hint}); "
                     "`actionhub stats STORE --json` lists them")
