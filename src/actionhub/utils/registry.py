"""One registry helper for every pluggable kind: text encoders, backbones, collection
providers, training methods and protocols.

A :class:`Registry` maps a name to an entry (a factory, a loader, a spec object) with a
one-line help text. Names are plain (``"minilm"``, ``"coco"``); an entry registered with
``takes_argument=True`` is a *family* looked up as ``"name:argument"`` (``"st:all-mpnet-base-v2"``,
``"timm:resnet50"``). Every registry answers the same three calls --
:meth:`~Registry.register`, :meth:`~Registry.names` / :meth:`~Registry.describe`,
:meth:`~Registry.get` / :meth:`~Registry.resolve` -- and an unknown name is always the same
clear error: ``unknown text encoder 'clip'; choose one of: minilm, st:<path-or-name>, ...``.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Callable, Generic, Iterator, TypeVar

from actionhub.utils.errors import UserError

T = TypeVar("T")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered name: its value, help text and whether it takes an argument (``name:arg``)."""

    name: str
    value: T
    help: str = ""
    takes_argument: bool = False
    argument: str = "<arg>"

    @property
    def pattern(self) -> str:
        """How a user spells it: ``"minilm"`` or ``"st:<path-or-name>"``."""
        return f"{self.name}:{self.argument}" if self.takes_argument else self.name


class Registry(Generic[T]):
    """Named entries of one kind (see the module docstring).

    kind: what the entries are, for messages (``"text encoder"``, ``"benchmark"``).
    error: the :class:`UserError` subclass raised for an unknown or malformed name.
    argument_noun: what a family's argument is, for messages (``"a model"``).
    """

    def __init__(self, kind: str, error: type[Exception] = UserError, argument_noun: str = "an argument") -> None:
        self.kind = kind
        self.error = error
        self.argument_noun = argument_noun
        self._entries: dict[str, Entry[T]] = {}
        self._listeners: list[Callable[[str], None]] = []

    # -- registering ------------------------------------------------------------------------
    def register(self, name: str, value: T | None = None, *, help: str = "", takes_argument: bool = False,
                 argument: str = "<arg>", replace: bool = False):
        """Add ``value`` under ``name``; without ``value``, a decorator that registers what it wraps.

        Registering a name twice is an error unless ``replace=True`` (so a plug-in cannot
        silently shadow a built-in entry).
        """
        if value is None:
            def deco(v: T) -> T:
                self.register(name, v, help=help, takes_argument=takes_argument, argument=argument, replace=replace)
                return v
            return deco
        if not _NAME.fullmatch(name):
            raise ValueError(f"{self.kind} name must start with a letter or digit and hold no ':' or spaces: {name!r}")
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered (pass replace=True to override it)")
        self._entries[name] = Entry(name, value, help, takes_argument, argument)
        for fn in self._listeners:
            fn(name)
        return value

    def on_change(self, fn: Callable[[str], None]) -> None:
        """Call ``fn(name)`` whenever ``name`` is (re-)registered (e.g. to drop a cached model)."""
        self._listeners.append(fn)

    # -- listing ----------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def entries(self) -> list[Entry[T]]:
        return list(self._entries.values())

    def describe(self) -> dict[str, str]:
        """``{pattern: help}``, e.g. ``{"minilm": "...", "st:<path-or-name>": "..."}``."""
        return {e.pattern: e.help for e in self._entries.values()}

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    # -- looking up -------------------------------------------------------------------------
    def resolve(self, spec: str) -> tuple[Entry[T], str | None]:
        """``(entry, argument)`` for ``"name"`` (argument None) or ``"family:argument"``."""
        spec = str(spec).strip()
        if spec in self._entries:
            entry = self._entries[spec]
            if entry.takes_argument:
                raise self.error(f"{self.kind} {spec!r} needs {self.argument_noun}: {entry.pattern}")
            return entry, None
        prefix, sep, arg = spec.partition(":")
        entry = self._entries.get(prefix)
        if entry is not None and sep:
            if not entry.takes_argument:
                raise self.error(f"{self.kind} {prefix!r} takes no argument, got {spec!r}")
            if not arg.strip():
                raise self.error(f"{self.kind} {spec!r} needs {self.argument_noun}: {entry.pattern}")
            return entry, arg.strip()
        raise self.unknown(spec)

    def get(self, spec: str) -> T:
        """The value registered under ``spec`` (a plain name; see :meth:`resolve` for families)."""
        return self.resolve(spec)[0].value

    def unknown(self, spec: str) -> Exception:
        """The error for a name that is not registered: it lists the choices (and a close match)."""
        patterns = [e.pattern for e in self._entries.values()]
        close = difflib.get_close_matches(str(spec), list(self._entries), n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return self.error(f"unknown {self.kind} {spec!r}{hint}; choose one of: {', '.join(patterns)}")

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
