"""Render env and config files from jinja2 templates; write them atomically, 0600 by default."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import jinja2

from .envfile import EnvFileError, env_file_content
from .text import unsafe_problem


def template_environment(template_dir: Union[str, Path]) -> jinja2.Environment:
    """A jinja2 environment that fails on undefined variables instead of rendering blanks.

    Env templates write values through the `env_value` filter, which refuses line breaks.
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
    """A value for one `KEY=VALUE` env line; a line break would smuggle in another variable."""
    text = "" if value is None else str(value)
    problem = unsafe_problem(text)
    if problem:
        raise EnvFileError(f"an env file value {problem}")
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


def write_env_file(path: Path, variables: Mapping[str, Any]) -> bool:
    """Write an env file (0600) from a mapping; return whether it changed.

    EnvFileError, naming the variable, for a value the engines would not read back as is.
    """
    return write_file(path, env_file_content(variables), 0o600)
