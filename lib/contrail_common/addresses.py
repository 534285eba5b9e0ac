"""IP addresses, networks and host names as options and databag fields take them.

`ipaddress` and pydantic accept an IPv6 scope id, `fe80::1%<anything>`, and keep the text
after `%` (spaces, `=`, line breaks) in the address's string, which then reaches env files and
statuses. No Contrail address is link-local, so a scope id is refused outright rather than
checked against an interface-name grammar. Every address field uses these types.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Union

from pydantic import AfterValidator, Field, IPvAnyAddress, IPvAnyNetwork

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

_SCOPE = "an IPv6 scope id (%...) is not allowed"
# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


def _refuse_scope(address: object) -> None:
    if getattr(address, "scope_id", None) is not None:
        raise ValueError(_SCOPE)


def parse_address(text: str) -> IPAddress:
    """An IPv4 or IPv6 address; ValueError for anything else, a scope id included."""
    if "%" in text:
        raise ValueError(_SCOPE)
    return ipaddress.ip_address(text)


def parse_network(text: str) -> IPNetwork:
    """A network (host bits allowed, as `10.0.0.1/24`); ValueError for a scope id too."""
    if "%" in text:
        raise ValueError(_SCOPE)
    return ipaddress.ip_network(text, strict=False)


def _address(value: IPAddress) -> IPAddress:
    _refuse_scope(value)
    return value


def _network(value: IPNetwork) -> IPNetwork:
    _refuse_scope(value.network_address)
    return value


def _address_text(value: str) -> str:
    try:
        return str(parse_address(value))
    except ValueError as error:
        raise ValueError(f"must be an IP address such as 10.0.0.5 ({error})") from None


def check_host(value: str) -> str:
    """A DNS host name or an IP address (no brackets, no scope id), as a URL's host."""
    if "%" in value:
        raise ValueError(f"must be a host name or an IP address ({_SCOPE})")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if len(value) > 253 or not _HOSTNAME.fullmatch(value):
        raise ValueError("must be a host name such as k8s.example or an IP address")
    return value


# An IP address (pydantic's), without a scope id.
Address = Annotated[IPvAnyAddress, AfterValidator(_address)]
# A network in CIDR form (pydantic's: host bits must be zero), without a scope id.
Network = Annotated[IPvAnyNetwork, AfterValidator(_network)]
# An IP address kept as its canonical text.
AddressText = Annotated[str, AfterValidator(_address_text)]
# A host name or an IP address, kept as text.
Host = Annotated[str, AfterValidator(check_host)]
# A TCP or UDP port.
Port = Annotated[int, Field(ge=1, le=65535)]
