"""Adapter names: short, plain handles that can never be read as a path."""

from __future__ import annotations

import re

from tunegate.registry._errors import InvalidNameError

MAX_NAME_LENGTH = 100
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def validate_name(name: str) -> str:
    """``name`` when it is a valid adapter name; else an error saying what is wrong.

    A name starts with a letter or digit and continues with letters, digits, ``.``,
    ``_`` or ``-`` (at most 100 characters), and never contains ``..`` or a path
    separator. The registry stores content by hash, not by name, so this is defence
    in depth: names end up in file listings, reports and shell commands.
    """
    if not isinstance(name, str) or not name:
        raise InvalidNameError(str(name), "empty")
    if "/" in name or "\\" in name:
        raise InvalidNameError(name, "contains a path separator")
    if ".." in name:
        raise InvalidNameError(name, "contains '..'")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(name, f"longer than {MAX_NAME_LENGTH} characters")
    if not _NAME.fullmatch(name):
        raise InvalidNameError(
            name, "must start with a letter or digit and contain only letters, digits, "
            "'.', '_' and '-'",
        )
    return name
