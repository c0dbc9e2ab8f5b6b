"""Collecting action video descriptions: providers, the resumable runner, a small Python API.

    from actionhub.collect import collect, get_provider
    summary = collect(["play guitar", "ride horse"], get_provider("local", corpus="captions.csv"),
                      "store/", per_query=100)

Providers (``get_provider(name, **options)``):

* ``shutterstock``: Shutterstock's video search API (:mod:`actionhub.collect.shutterstock`);
  credentials from ``SHUTTERSTOCK_API_TOKEN`` (or ``SHUTTERSTOCK_CONSUMER_KEY``/``_SECRET``).
* ``local``: BM25 search over a caption corpus file (:mod:`actionhub.collect.local`).

More sites: subclass :class:`Provider` and :func:`register_provider` a factory for it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from actionhub.collect.base import (AuthError, Budget, BudgetExhausted, Hit, MalformedReply, Page, Provider,
                                    ProviderConfigError, ProviderError, RateLimited, RequestError,
                                    TransientError)
from actionhub.collect.runner import collect as _run

__all__ = [
    "collect",
    "get_provider",
    "list_providers",
    "register_provider",
    "Provider",
    "Hit",
    "Page",
    "Budget",
    "ProviderError",
    "ProviderConfigError",
    "AuthError",
    "RequestError",
    "TransientError",
    "RateLimited",
    "MalformedReply",
    "BudgetExhausted",
]


def _shutterstock(**options: Any) -> Provider:
    from actionhub.collect.shutterstock import ShutterstockProvider  # noqa: PLC0415

    return ShutterstockProvider(**options)


def _local(**options: Any) -> Provider:
    from actionhub.collect.local import LocalProvider  # noqa: PLC0415

    return LocalProvider(**options)


_PROVIDERS: dict[str, tuple[Callable[..., Provider], str]] = {
    "shutterstock": (_shutterstock, "Shutterstock video search API (needs SHUTTERSTOCK_API_TOKEN)"),
    "local": (_local, "BM25 search over a local caption corpus (CSV/JSONL/Parquet)"),
}


def register_provider(name: str, factory: Callable[..., Provider], help: str = "") -> None:
    """Make ``get_provider(name, **options)`` call ``factory(**options)``."""
    _PROVIDERS[name] = (factory, help)


def list_providers() -> dict[str, str]:
    """``{name: one-line description}`` of the registered providers."""
    return {k: v[1] for k, v in _PROVIDERS.items()}


def get_provider(name: str, **options: Any) -> Provider:
    """A provider by name; options are passed to its constructor (None values dropped)."""
    if name not in _PROVIDERS:
        raise ProviderConfigError(f"unknown provider {name!r}; known: {', '.join(_PROVIDERS)}")
    return _PROVIDERS[name][0](**{k: v for k, v in options.items() if v is not None})


def collect(queries: Iterable[str], provider: Provider | str, store: str | os.PathLike[str],
            per_query: Optional[int] = None, budget: Optional[int] = None, progress: bool = False,
            **options: Any) -> dict:
    """Collect descriptions of ``queries`` into ``store``; returns the summary dict of
    :func:`actionhub.collect.runner.collect` (resumable: call again to continue).

    ``provider``: a :class:`Provider` or a registered name (then ``options`` go to
    :func:`get_provider`, e.g. ``corpus=`` for ``"local"``).
    """
    if not isinstance(provider, str) and options:
        raise TypeError(f"options {sorted(options)} only apply when the provider is given by name")
    prov = get_provider(provider, **options) if isinstance(provider, str) else provider
    try:
        return _run(queries, prov, Path(store), per_query=per_query, budget=budget, progress=progress)
    finally:
        prov.close()
