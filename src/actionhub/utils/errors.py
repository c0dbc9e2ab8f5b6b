"""The base class of errors meant for the user.

Raise a subclass of :class:`UserError` when input is wrong (missing file, wrong
dimension, unknown class, malformed reply) with a message that says what was wrong
and how to fix it: the CLI prints it without a traceback and exits with status 2.
"""
from __future__ import annotations


class UserError(ValueError):
    """Bad input or state the user can fix; the message says how."""
