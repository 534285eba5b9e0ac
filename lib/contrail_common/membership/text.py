"""Command output as one short status line (databag strings are single lines)."""

from __future__ import annotations

LIMIT = 200


def one_line(text: str, limit: int = LIMIT) -> str:
    """`text` with every run of whitespace or control characters as one space, cut at `limit`."""
    kept = "".join(ch if ch.isprintable() else " " for ch in text)
    squeezed = " ".join(kept.split())
    return squeezed if len(squeezed) <= limit else squeezed[: limit - 3].rstrip() + "..."
