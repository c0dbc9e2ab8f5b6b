"""Collecting action video descriptions: providers, the resumable runner, a small Python API.

    from actionhub.dataset.collect import collect, get_provider
    summary = collect(["play guitar", "ride horse"], get_provider("local", corpus="captions.csv"),
                      "store/", per_query=100)

Providers: ``shutterstock`` (:mod:`~actionhub.dataset.collect.shutterstock`) and ``local`` (BM25
over a caption corpus, :mod:`~actionhub.dataset.collect.local`); add one by subclassing
:class:`Provider` and calling :func:`register_provider`.
Docs: docs/dataset.md#python-api
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from actionhub.dataset.collect.base import (
    AuthError,
    Budget,
    BudgetExhausted,
    Hit,
    MalformedReply,
    Page,
    Provider,
    ProviderConfigError,
    ProviderError,
    RateLimited,
    RequestError,
    TransientError,
)
from actionhub.dataset.collect.runner import collect as _run
from actionhub.utils.registry import Registry

__all__ = [
    "collect",
    "get_provider",
    "list_providers",
    "register_provider",
    "PROVIDERS",
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
    from actionhub.dataset.collect.shutterstock import ShutterstockProvider  # noqa: PLC0415

    return ShutterstockProvider(**options)


def _local(**options: Any) -> Provider:
    from actionhub.dataset.collect.local import LocalProvider  # noqa: PLC0415

    return LocalProvider(**options)


#: provider name -> factory ``(**options) -> Provider``
PROVIDERS: Registry[Callable[..., Provider]] = Registry("provider", ProviderConfigError)
PROVIDERS.register("shutterstock", _shutterstock, help="Shutterstock video search API (needs SHUTTERSTOCK_API_TOKEN)")
PROVIDERS.register("local", _local, help="BM25 search over a local caption corpus (CSV/JSONL/Parquet)")


def register_provider(name: str, factory: Callable[..., Provider], help: str = "", replace: bool = False) -> None:
    """Make ``get_provider(name, **options)`` call ``factory(**options)``."""
    PROVIDERS.register(name, factory, help=help, replace=replace)


def list_providers() -> dict[str, str]:
    """``{name: one-line description}`` of the registered providers."""
    return PROVIDERS.describe()


def get_provider(name: str, **options: Any) -> Provider:
    """A provider by name; options are passed to its constructor (None values dropped)."""
    return PROVIDERS.get(name)(**{k: v for k, v in options.items() if v is not None})


def collect(queries: Iterable[str], provider: Provider | str, store: str | os.PathLike[str],
            per_query: Optional[int] = None, budget: Optional[int] = None, progress: bool = False,
            **options: Any) -> dict:
    """Collect descriptions of ``queries`` into ``store``; returns the summary dict of
    :func:`actionhub.dataset.collect.runner.collect` (resumable: call again to continue).

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
