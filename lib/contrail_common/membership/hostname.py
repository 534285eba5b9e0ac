"""The host name a unit's RabbitMQ node is named after.

The RabbitMQ entrypoint names every node `contrail@<name>`, where <name> is the first name
`getent hosts <address>` gives (DNS `host -4` as a fallback), cut at the first dot
(`images/membership.yaml`). Each unit works its own out the same way, through the system
resolver, and publishes it, so the leader can forget that node after the unit is gone.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Optional

Lookup = Callable[[str], tuple[str, list[str], list[str]]]


def node_hostname(address: str, lookup: Lookup = socket.gethostbyaddr) -> Optional[str]:
    """The short name `address` resolves to, or None when it resolves to nothing."""
    try:
        name = lookup(address)[0]
    except OSError:
        return None
    short = name.split(".", 1)[0]
    return short or None
