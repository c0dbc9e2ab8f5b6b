"""Reading the user's text files (queries, labels, video lists, action names, released files) as UTF-8.

A file saved in another encoding (Latin-1, Windows-1252, UTF-16 from a spreadsheet) must not end
in a ``UnicodeDecodeError`` traceback: :func:`read_text_file` and :func:`open_text_file` raise
:class:`NotUtf8Error` instead, naming the file, the line and byte offset of the first byte that is
not UTF-8, and the command that converts the file. Standard library only (cheap to import).
"""
from __future__ import annotations

import codecs
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Optional

from actionhub.utils.errors import UserError

__all__ = ["NotUtf8Error", "first_non_utf8", "not_utf8_error", "open_text_file", "read_text_file"]

from actionhub.utils.types import PathLike

_CHUNK = 1 << 20


class NotUtf8Error(UserError):
    """A text file the user gave is not UTF-8; the message says where and how to convert it."""


def first_non_utf8(path: PathLike) -> Optional[tuple[int, int, bytes]]:
    """``(byte offset, line number (1-based), the offending bytes)`` of the first byte of ``path``
    that is not valid UTF-8, or None when the whole file is UTF-8. Reads the file in chunks."""
    dec = codecs.getincrementaldecoder("utf-8")()
    base = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            pending = dec.getstate()[0]
            try:
                dec.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                data = pending + chunk
                offset = base - len(pending) + e.start
                bad = data[e.start:e.end]
                break
            if not chunk:
                return None
            base += len(chunk)
    line = 1
    with open(path, "rb") as fh:
        done = 0
        while done < offset:
            block = fh.read(min(_CHUNK, offset - done))
            if not block:
                break
            line += block.count(b"\n")
            done += len(block)
    return offset, line, bad


def not_utf8_error(path: PathLike, what: str = "file") -> NotUtf8Error:
    """The :class:`NotUtf8Error` for ``path`` (a ``what``, e.g. "queries file"), saying where its first
    non-UTF-8 byte is and how to convert the file."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(4)
        where = first_non_utf8(p)
    except OSError:
        head, where = b"", None
    fixed = p.with_name(f"{p.stem}.utf8{p.suffix}")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return NotUtf8Error(f"{what} {p} is UTF-16 text, not UTF-8; re-save it as UTF-8 (e.g. "
                            f"`iconv -f utf-16 -t utf-8 {p} > {fixed}`) and pass {fixed}")
    at = ""
    if where is not None:
        offset, line, bad = where
        shown = " ".join(f"0x{b:02X}" for b in bad[:4])
        at = f": byte {shown} on line {line} (byte offset {offset}) is not valid UTF-8"
    return NotUtf8Error(f"{what} {p} is not UTF-8 text{at}; re-save it as UTF-8 (e.g. "
                        f"`iconv -f latin1 -t utf-8 {p} > {fixed}`; `file {p}` tells its encoding) "
                        f"and pass {fixed}")


def read_text_file(path: PathLike, what: str = "file") -> str:
    """The text of ``path`` decoded as UTF-8 (a leading byte-order mark, as spreadsheets write, is
    dropped); :class:`NotUtf8Error` (a :class:`UserError`) when it is not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise not_utf8_error(path, what) from None


@contextmanager
def open_text_file(path: PathLike, what: str = "file", newline: Optional[str] = None) -> Iterator[IO[str]]:
    """``open(path, encoding="utf-8")`` for streaming reads; a ``UnicodeDecodeError`` raised while the
    block reads the file becomes :class:`NotUtf8Error` naming the first bad byte."""
    with open(path, encoding="utf-8-sig", newline=newline) as fh:
        try:
            yield fh
        except UnicodeDecodeError:
            raise not_utf8_error(path, what) from None
