"""Which of two image tags is newer, when the tags themselves can tell.

An agent may lag its controller, never lead it (`images/upgrade.yaml`:
older-agents-with-newer-control), so an agent's upgrade needs this order. The tags say it only
partly: the lines are ordered (R2011, R24.1, R25.1 and later branches), and within a line dated
tags (`R24.1-2024-09-01`, nightlies `2025-06-01`) by their date. A moving tag (`R24.1-latest`,
`latest`) names no date, so against another tag of its line the order is unknown.
"""

from __future__ import annotations

import datetime
import re
from typing import Optional

from ..images.releases import UnknownReleaseError, line_for_tag

_BRANCH = re.compile(r"R(\d+)(?:\.(\d+))?(?:-(\d{4})-(\d{2})-(\d{2}))?(?:-latest)?(?:-stable)?")
_NIGHTLY = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:-stable)?")
_LINE_ORDER = {"R2011": 0, "R24.1": 1, "R25.1": 2}


def _branch(tag: str) -> Optional[tuple[int, int]]:
    match = _BRANCH.fullmatch(tag)
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


def _date(tag: str) -> Optional[datetime.date]:
    for pattern, first in ((_BRANCH, 3), (_NIGHTLY, 1)):
        match = pattern.fullmatch(tag)
        if match and match.group(first):
            try:
                return datetime.date(*(int(match.group(first + i)) for i in range(3)))
            except ValueError:
                return None
    return None


def compare(a: str, b: str) -> Optional[int]:
    """-1 when `a` is older than `b`, 0 when the same tag, 1 when newer, None when unknown."""
    if a == b:
        return 0
    try:
        line_a, line_b = line_for_tag(a), line_for_tag(b)
    except UnknownReleaseError:
        return None
    if line_a != line_b:
        return _sign(_LINE_ORDER[line_a.name] - _LINE_ORDER[line_b.name])
    branch_a, branch_b = _branch(a), _branch(b)
    if (branch_a is None) != (branch_b is None):
        return None  # a master nightly against a branch tag: their dates do not order code
    if branch_a and branch_b and branch_a != branch_b:
        return _sign((branch_a > branch_b) - (branch_a < branch_b))  # R26.1 after R25.1
    date_a, date_b = _date(a), _date(b)
    if date_a is None or date_b is None or date_a == date_b:
        return None  # a moving tag, or two spellings of one day
    return _sign((date_a > date_b) - (date_a < date_b))


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)
