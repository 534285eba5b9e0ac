"""The upgrade fields on the relations to and from the controller.

The controller leader publishes what the control plane runs (`ControlPlaneVersionFields`) on
every relation it has to a Contrail application; each of those applications' leaders reads it
(analytics, analyticsdb and kube-manager follow it; agents refuse to lead it) and answers with
what its own units run and pulled (`UpgradeReportFields`), which the controller's
`pre-upgrade-check` reads. Each write is of these fields alone, so the charm's own data in the
same databag stays as the charm wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Optional

import ops

from ..databag import MalformedDatabagError, read_databag, write_databag
from .fields import ControlPlaneVersionFields, UpgradeReportFields

# The controller's endpoints to the applications that follow it.
CONTROLLER_ENDPOINTS = ("contrail-controller", "contrail-analytics", "contrail-analyticsdb")


@dataclass(frozen=True)
class Links:
    """A charm's endpoints towards the controller (followers) or towards its followers (the
    controller)."""

    # Where the controller's word is read (and the report written); empty for the controller.
    to_controller: Sequence[str] = ()
    # Where the controller publishes its word (and reads the reports); empty for the others.
    to_followers: Sequence[str] = ()


def _relations(model: ops.Model, endpoints: Iterable[str]) -> list[ops.Relation]:
    found = []
    for endpoint in endpoints:
        if endpoint in model.relations:
            found.extend(sorted(model.relations[endpoint], key=lambda r: r.id))
    return found


def controller_version(model: ops.Model, links: Links) -> Optional[ControlPlaneVersionFields]:
    """The controller's word, from the first relation that carries it; None before it wrote.

    analyticsdb relates to both the controller and analytics on one endpoint: only the
    controller writes these fields, so the first relation that has them is the controller's.
    """
    for relation in _relations(model, links.to_controller):
        if relation.app is None:
            continue
        try:
            data = read_databag(relation, relation.app, ControlPlaneVersionFields)
        except MalformedDatabagError:
            continue
        if data is not None and (data.controller_version or data.controller_upgrading_to):
            return data
    return None


def publish_version(model: ops.Model, links: Links, version: ControlPlaneVersionFields) -> None:
    """The controller leader's word, on every relation to a follower."""
    for relation in _relations(model, links.to_followers):
        write_databag(relation, model.app, version)


def publish_report(model: ops.Model, links: Links, report: UpgradeReportFields) -> None:
    """A follower leader's report, on its relations to the controller."""
    for relation in _relations(model, links.to_controller):
        write_databag(relation, model.app, report)


def reports(model: ops.Model, links: Links) -> dict[str, UpgradeReportFields]:
    """The followers' reports by application (those that wrote one)."""
    found: dict[str, UpgradeReportFields] = {}
    for relation in _relations(model, links.to_followers):
        if relation.app is None:
            continue
        try:
            data = read_databag(relation, relation.app, UpgradeReportFields)
        except MalformedDatabagError:
            continue
        if data is not None and data.upgrade_target:
            found[relation.app.name] = data
    return found
