"""The deployment-wide TLS switch as pure logic: units to application, applications to switch.

XMPP, sandesh, RabbitMQ and Cassandra peers must agree on TLS, so no charm decides for itself:
each application's leader sums up its units, and the controller leader turns TLS on for
everyone only when every related application holds certificates from one CA. Every charm then
renders from that published decision.

Once on, TLS stays on while an application is only pending (a unit added, a certificate being
renewed or re-requested): that unit waits for its certificate instead of turning TLS off for
the whole deployment. It goes off when an application has no certificates relation any more.
A CA that differs between applications never flips the switch: it blocks, naming both CAs,
until every application holds certificates from one CA again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

import ops

from .certificate import CaIdentity
from .fields import TlsReportFields, TlsState, TlsSwitchFields, TlsUnitFields


@dataclass(frozen=True)
class Switch:
    """The deployment's TLS as published: on or off, and the CA everyone trusts."""

    enabled: bool = False
    ca: Optional[CaIdentity] = None

    @classmethod
    def from_fields(cls, data: Optional[TlsSwitchFields]) -> Switch:
        if data is None or not data.ssl_enabled:
            return cls()
        ca = None
        if data.ca_fingerprint:
            ca = CaIdentity(data.ca_fingerprint, data.ca_subject or "")
        return cls(True, ca)

    def fields(self) -> dict[str, object]:
        """The `TlsSwitchFields` values to publish."""
        return {
            "ssl_enabled": self.enabled,
            "ca_fingerprint": self.ca.fingerprint if self.ca else None,
            "ca_subject": self.ca.subject if self.ca else None,
        }


OFF = Switch()


@dataclass(frozen=True)
class AppTls:
    """One application's TLS, as its leader reported it (state None: nothing reported yet)."""

    app: str
    state: Optional[TlsState]
    ca: Optional[CaIdentity] = None

    @classmethod
    def from_fields(cls, app: str, data: Optional[TlsReportFields]) -> AppTls:
        if data is None or data.tls_state is None:
            return cls(app, None)
        ca = None
        if data.tls_state == "ready" and data.tls_ca_fingerprint:
            ca = CaIdentity(data.tls_ca_fingerprint, data.tls_ca_subject or "")
        return cls(app, data.tls_state if ca or data.tls_state != "ready" else "pending", ca)

    def fields(self) -> dict[str, object]:
        """The `TlsReportFields` values to publish."""
        return {
            "tls_state": self.state,
            "tls_ca_fingerprint": self.ca.fingerprint if self.ca else None,
            "tls_ca_subject": self.ca.subject if self.ca else None,
        }


@dataclass(frozen=True)
class Decision:
    switch: Switch
    problems: tuple[ops.StatusBase, ...] = field(default=())


def unit_fields(ca: Optional[CaIdentity]) -> dict[str, object]:
    """The `TlsUnitFields` values a unit publishes about itself."""
    return {
        "tls_ca_fingerprint": ca.fingerprint if ca else None,
        "tls_ca_subject": ca.subject if ca else None,
    }


def application_tls(
    app: str, related: bool, units: Mapping[str, Optional[TlsUnitFields]]
) -> tuple[AppTls, list[ops.StatusBase]]:
    """The leader's summary of its application from every unit's report (its own included).

    Units that hold certificates from different CAs leave the application pending and say so:
    that is a CA rotation under way, or units related to different providers.
    """
    if not related:
        return AppTls(app, "off"), []
    cas: dict[str, CaIdentity] = {}
    waiting: list[str] = []
    for unit in sorted(units, key=_unit_order):
        report = units[unit]
        if report is None or not report.tls_ca_fingerprint:
            waiting.append(unit)
            continue
        cas.setdefault(
            report.tls_ca_fingerprint,
            CaIdentity(report.tls_ca_fingerprint, report.tls_ca_subject or ""),
        )
    if len(cas) > 1:
        first, second = list(cas.values())[:2]
        return AppTls(app, "pending"), [
            ops.WaitingStatus(
                f"TLS: units of {app} hold certificates from different CAs "
                f"({first.label} and {second.label}); waiting for them to agree"
            )
        ]
    if waiting or not cas:
        return AppTls(app, "pending"), []
    return AppTls(app, "ready", next(iter(cas.values()))), []


def decide(
    applications: Sequence[AppTls], previous: Switch, certificates_hint: str = "certificates"
) -> Decision:
    """The controller leader's decision from every related application (the controller's
    own included) and what it published before.

    `certificates_hint` names the provider for the message that says what to relate.
    """
    # Applications that have not reported yet want nothing on their own; once another one
    # wants TLS they count as pending.
    if not any(a.state in ("pending", "ready") for a in applications):
        return Decision(OFF)
    unwanted = [a.app for a in applications if a.state == "off"]
    if unwanted:
        listed = ", ".join(unwanted)
        return Decision(
            OFF,
            (
                ops.BlockedStatus(
                    f"TLS off: {listed} {'has' if len(unwanted) == 1 else 'have'} no "
                    f"certificates (juju integrate {unwanted[0]}:certificates {certificates_hint})"
                ),
            ),
        )
    ready = [a for a in applications if a.state == "ready" and a.ca is not None]
    distinct = _distinct(a.ca for a in ready if a.ca is not None)
    if len(distinct) > 1:
        holders = {ca.fingerprint: [a.app for a in ready if a.ca == ca] for ca in distinct}
        first, second = distinct[:2]
        return Decision(
            previous,
            (
                ops.BlockedStatus(
                    "TLS: certificates from different CAs: "
                    f"{', '.join(holders[first.fingerprint])} from {first.label}, "
                    f"{', '.join(holders[second.fingerprint])} from {second.label} "
                    "(relate every application to one provider)"
                ),
            ),
        )
    pending = [a.app for a in applications if a not in ready]
    if pending:
        now = "on" if previous.enabled else "off"
        return Decision(
            previous,
            (
                ops.WaitingStatus(
                    f"TLS stays {now} until every unit of {', '.join(pending)} holds a certificate"
                ),
            ),
        )
    return Decision(Switch(True, distinct[0]))


def _distinct(cas: Iterable[CaIdentity]) -> list[CaIdentity]:
    found: list[CaIdentity] = []
    for ca in cas:
        if all(ca.fingerprint != f.fingerprint for f in found):
            found.append(ca)
    return found


def _unit_order(unit: str) -> tuple[str, int]:
    app, _, number = unit.rpartition("/")
    return app, int(number) if number.isdigit() else 0
