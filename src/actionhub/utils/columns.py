"""Column types of the tables users hand over (Parquet, JSONL, CSV read by pyarrow), checked before use.

A caption column that holds lists, bytes or objects, a rank written as text, integers past int32:
:func:`check_columns` names the file, the column, its type and the types that work, in one line,
instead of a traceback from deep inside an Arrow cast. :func:`check_int_range` finds the values an
integer column cannot be narrowed to. pyarrow is imported lazily.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

__all__ = ["TEXT", "INTEGER", "NUMBER", "ID", "check_columns", "check_int_range"]

TEXT = "text"        # string, large_string, string_view, or a dictionary of them (null: an empty column)
INTEGER = "integer"  # any integer type (or null)
NUMBER = "number"    # integer or floating point (or null)
ID = "id"            # text or an integer type (video ids)

_ALLOWED = {TEXT: "string (UTF-8 text)", INTEGER: "an integer type (int8 ... int64)",
            NUMBER: "a number (integer or floating point)", ID: "string (UTF-8 text) or an integer type"}


def _fits(t: Any, kind: str) -> bool:
    import pyarrow as pa  # noqa: PLC0415

    if pa.types.is_null(t):
        return True
    if pa.types.is_dictionary(t):
        return _fits(t.value_type, kind)
    if kind == TEXT:
        return pa.types.is_string(t) or pa.types.is_large_string(t) or str(t) == "string_view"
    if kind == INTEGER:
        return pa.types.is_integer(t)
    if kind == ID:
        return _fits(t, TEXT) or pa.types.is_integer(t)
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def check_columns(schema: Any, kinds: Mapping[str, str], where: Any, error: Callable[[str], Exception]) -> None:
    """Raise ``error(message)`` for the first column of ``kinds`` (name -> :data:`TEXT`, :data:`INTEGER`,
    :data:`NUMBER`, :data:`ID`) whose type in ``schema`` (a ``pyarrow.Schema``) does not fit; columns missing from
    ``schema`` are left to the caller. ``where``: the file, for the message."""
    for name, kind in kinds.items():
        if name not in schema.names:
            continue
        t = schema.field(name).type
        if not _fits(t, kind):
            raise error(f"{where}: column {name!r} is {t}; it must hold {_ALLOWED[kind]}")


def check_int_range(column: Any, bits: int, name: str, where: Any, error: Callable[[str], Exception]) -> None:
    """Raise ``error`` when an integer ``column`` (Arrow array or chunked array) holds values outside a
    signed ``bits``-bit integer, naming the smallest and largest value found."""
    import pyarrow.compute as pc  # noqa: PLC0415

    if len(column) == 0:
        return
    mm = pc.min_max(column).as_py()
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if mm["min"] is not None and (mm["min"] < lo or mm["max"] > hi):
        raise error(f"{where}: column {name!r} holds {mm['min']}..{mm['max']}, outside the {bits}-bit integers "
                    f"({lo}..{hi}) it must fit in")
