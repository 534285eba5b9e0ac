"""Text that stays on its line: no line breaker, no control character, no lone surrogate.

Every option, every databag field and every env file value is held to this, once, here.
Python's `str.splitlines()` breaks a line at `\\r`, `\\x0b`, `\\x0c`, `\\x1c`-`\\x1e`, `\\x85`,
U+2028 and U+2029 as well as `\\n`, while Docker's and ctr's env file readers break only at
`\\n` and drop a `\\r` before it: a value holding any of them is read as something else by one
reader or another. No option or relation value needs a control character at all, and a lone
surrogate (which JSON can carry) cannot even be written as UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Optional

from pydantic import AfterValidator

# C0 controls (tab included), DEL, C1 controls, the Unicode line and paragraph separators,
# and surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def unsafe_character(text: str) -> Optional[str]:
    """The first character of `text` that no line may hold, None when there is none."""
    found = _UNSAFE.search(text)
    return found.group() if found else None


def unsafe_problem(text: str) -> Optional[str]:
    """Why `text` cannot be one line of a file (naming the character, never the text)."""
    character = unsafe_character(text)
    if character is None:
        return None
    return f"holds U+{ord(character):04X}, a line break or control character"


def check_text(value: str) -> str:
    problem = unsafe_problem(value)
    if problem:
        raise ValueError(f"must be one line of printable text ({problem})")
    return value


# A string fit for any line of any file the charms write.
Text = Annotated[str, AfterValidator(check_text)]


def check_strings(value: Any) -> Any:
    """Every string in `value`, in lists, tuples and dicts (keys too), is `Text`.

    The before-validator of every field of the config and databag base models, so that no
    field, whatever its type, takes a line breaker on to a file.
    """
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_strings(key)
            check_strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            check_strings(item)
    return value
