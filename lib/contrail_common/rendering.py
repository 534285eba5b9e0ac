"""Render env and config files from jinja2 templates; write them atomically, 0600 by default."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import jinja2

_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def template_environment(template_dir: Union[str, Path]) -> jinja2.Environment:
    """A jinja2 environment that fails on undefined variables instead of rendering blanks.

    Env templates write values through the `env_value` filter, which refuses newlines.
    """
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - env and config files, not HTML
    )
    environment.filters["env_value"] = env_value
    return environment


def env_value(value: Any) -> str:
    """A value for one `KEY=VALUE` env line; a newline would smuggle in another variable."""
    text = "" if value is None else str(value)
    if "\n" in text or "\0" in text:
        raise ValueError("an env file value holds a newline or NUL")
    return text


def write_file(path: Path, content: Union[str, bytes], mode: int = 0o600) -> bool:
    """Write `content` atomically with `mode`; return whether the content changed.

    The file is written under a temporary name in the same directory, created with `mode` from
    the start (never briefly world-readable), then renamed over the old one. An unchanged file
    is not rewritten, but its mode is still corrected.
    """
    data = content.encode() if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        if path.stat().st_mode & 0o7777 != mode:
            os.chmod(path, mode)
        return False
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def render_file(
    templates: jinja2.Environment,
    template: str,
    context: Mapping[str, Any],
    path: Path,
    mode: int = 0o600,
) -> bool:
    """Render a template into `path`; return whether the file changed."""
    return write_file(path, templates.get_template(template).render(**context), mode)


def env_file_content(variables: Mapping[str, Any]) -> str:
    """`KEY=VALUE` lines for an env file, refusing what would break its line format."""
    lines = []
    for key, value in variables.items():
        if not _ENV_KEY.match(key):
            raise ValueError(f"invalid environment variable name {key!r}")
        try:
            lines.append(f"{key}={env_value(value)}\n")
        except ValueError:
            raise ValueError(f"value of {key} holds a newline or NUL") from None
    return "".join(lines)


def write_env_file(path: Path, variables: Mapping[str, Any]) -> bool:
    """Write an env file (0600) from a mapping; return whether it changed."""
    return write_file(path, env_file_content(variables), 0o600)
