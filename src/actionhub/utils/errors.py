"""The base class of errors meant for the user.

Raise a subclass of :class:`UserError` when input is wrong (missing file, wrong
dimension, unknown class, malformed reply) with a message that says what was wrong
and how to fix it: the CLI prints it without a traceback and exits with status 2.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator


class UserError(ValueError):
    """Bad input or state the user can fix; the message says how."""


class DiskFullError(UserError):
    """The disk filled up while writing; the message says what was kept and how to go on."""


def is_disk_full(exc: BaseException) -> bool:
    """True for an ``OSError`` that means the disk (or the user's quota) is full: ``ENOSPC``/``EDQUOT``,
    also when a library (pyarrow) only names it in the message."""
    import errno  # noqa: PLC0415

    if not isinstance(exc, OSError):
        return False
    return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)) or "No space left on device" in str(exc)


def disk_full_message(where: object, e: OSError, kept: str) -> str:
    """``the disk is full while writing FILE (reason); KEPT`` (``kept``: what stays and how to go on)."""
    return f"the disk is full while writing {getattr(e, 'filename', None) or where} ({e.strerror}); {kept}"


@contextlib.contextmanager
def disk_full_as(message: Callable[[OSError], str]) -> Iterator[None]:
    """Turn a full disk in the block into a :class:`DiskFullError` with ``message(error)`` (one line,
    exit 2); any other error passes unchanged."""
    try:
        yield
    except OSError as e:
        if not is_disk_full(e):
            raise
        raise DiskFullError(message(e)) from None
