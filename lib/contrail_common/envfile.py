"""The env file format, written once and read the way the engines read it.

`docker run --env-file` and `ctr run --env-file` both read env files with Go's line scanner:
a line ends at `\\n` only, a `\\r` before it is dropped, and a line over 64 KiB fails the
whole file. Docker then trims leading whitespace and skips blank lines and `#` comments; ctr
takes every line as it is. This library's Docker engine reads the file itself
(`read_env_file`, Docker's rules) and hands the variables to the Engine API; its containerd
engine hands the file to ctr.

So `env_file_content` writes only what every one of them reads back unchanged: names that
are identifiers, values that are `Text` (no line breaker, no control character), and lines
within the scanner's limit. Anything else is refused here, at the one writer, naming the
variable but never its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .text import unsafe_problem

ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
# Go's bufio.MaxScanTokenSize is 64 KiB, and the line's `\n` must fit in it too.
MAX_LINE_BYTES = 64 * 1024 - 1
# What Docker trims from the start of a line: Go's unicode.IsSpace (Python's str.isspace
# also holds \x1c-\x1f).
_GO_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)


class EnvFileError(ValueError):
    """A variable cannot be written as one env file line; the message names it."""


def check_env_entry(key: str, value: str) -> None:
    """Refuse what the engines would read differently from what was written."""
    if not ENV_KEY.fullmatch(key):
        raise EnvFileError(f"invalid environment variable name {key!r}")
    problem = unsafe_problem(value)
    if problem:
        raise EnvFileError(f"the value of {key} {problem}")
    if len(key.encode()) + 1 + len(value.encode()) > MAX_LINE_BYTES:
        raise EnvFileError(f"the value of {key} is longer than an env file line may be (64 KiB)")


def env_file_content(variables: Mapping[str, Any]) -> str:
    """`KEY=VALUE` lines (None is empty), refusing what would not read back the same."""
    lines = []
    for key, value in variables.items():
        text = "" if value is None else str(value)
        check_env_entry(key, text)
        lines.append(f"{key}={text}\n")
    return "".join(lines)


def parse_env_file(content: str) -> dict[str, str]:
    """The variables `docker run --env-file` takes from `content`.

    Lines end at `\\n` (a `\\r` before it is dropped); leading whitespace is trimmed; blank
    lines and `#` comments are skipped; the value is everything after the first `=`, taken
    literally. A line without `=` asks Docker for a variable of its own environment: there
    is none here, so it is left out.
    """
    env: dict[str, str] = {}
    lines = content.removeprefix("\ufeff").split("\n")  # Docker drops a UTF-8 BOM
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends the last line, it starts none
    for raw in lines:
        line = raw.removesuffix("\r").lstrip(_GO_SPACE)
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        env[key] = value
    return env


def read_env_file(path: Path) -> dict[str, str]:
    """An env file's variables, read as `docker run --env-file` reads them (from bytes: text
    mode would turn a lone `\r` into a line break)."""
    return parse_env_file(path.read_bytes().decode("utf-8"))
