"""What the controller leader reads for `pre-upgrade-check` (`precheck.py` judges it).

Its own database containers answer for the clusters (`nodetool status`, `rabbitmqctl
cluster_status`); every unit's ZooKeeper (`srvr` on its client port) and control node
(introspect) answer on that unit's address; the images are the leader's own, and the other
units' as they reported them (`upgrade-prepared`: every image of the tag, or not yet); the
related applications' leaders report on their relations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

from ..containers import ContainerEngine
from ..evaluation import Evaluation
from ..images.releases import UnknownReleaseError
from ..monitoring.introspect import IntrospectError, Peer, control_node_peers
from . import links as upgrade_links
from .precheck import CheckFacts
from .readings import Reader
from .workloads import config_for

if TYPE_CHECKING:
    from .upgrades import Upgrades


def gather_check_facts(
    upgrades: Upgrades, evaluation: Evaluation[Any], engine: ContainerEngine
) -> CheckFacts:
    config, cluster = evaluation.config, evaluation.cluster
    assert config is not None and cluster is not None
    target = config.image_tag
    try:
        line = config.release.name
    except UnknownReleaseError:
        line = ""
    members = [member.unit for member in cluster.members]
    addresses = {member.unit: member.address for member in cluster.members}
    reader = Reader(
        upgrades.probes,
        engine,
        upgrades.charm.project,
        cluster.address,
        upgrades.fetch,
        upgrades.ask,
    )
    control: dict[str, Optional[Sequence[Peer]]] = {}
    zookeeper: dict[str, Optional[str]] = {}
    for unit, address in addresses.items():
        zookeeper[unit] = reader.zookeeper_srvr(address)
        port = upgrades.probes.control_introspect
        if port is not None:
            control[unit] = _control_peers(reader, address, port)
    return CheckFacts(
        app=upgrades.charm.app.name,
        target=target,
        target_line=line,
        members=members,
        addresses=cluster.addresses,
        nodetool_status=reader.nodetool_status(),
        zookeeper_srvr=zookeeper,
        rabbitmq_status=reader.rabbitmq_status(),
        control_peers=control,
        images=_images(upgrades, evaluation, engine, members),
        applications=upgrade_links.reports(upgrades.model, upgrades.links),
    )


def _control_peers(reader: Reader, address: str, port: int) -> Optional[list[Peer]]:
    try:
        return control_node_peers(f"http://{address}:{port}", reader.fetch, reader.timeout)
    except IntrospectError:
        return None


def _images(
    upgrades: Upgrades, evaluation: Evaluation[Any], engine: ContainerEngine, members: list[str]
) -> Mapping[str, Mapping[str, Optional[str]]]:
    """unit -> image -> local ID: the leader's from its engine, the others' as reported (the
    ID of the leader's copy when they hold the tag's images, so builds compare only here)."""
    config, cluster = evaluation.config, evaluation.cluster
    assert config is not None and cluster is not None
    render = upgrades.render(evaluation)
    tagged = config_for(config, config.image_tag)
    references = list(dict.fromkeys(tagged.image(s.image) for s in render(tagged)))
    own = {}
    for reference in references:
        info = engine.inspect_image(reference)
        own[reference] = info.image_id if info is not None else None
    units = upgrades.staged.units()
    plan = upgrades.staged.plan()
    running = set(plan.upgrade_group_tags.values()) == {config.image_tag}
    found: dict[str, Mapping[str, Optional[str]]] = {}
    for unit in members:
        if unit == upgrades.charm.unit.name:
            found[unit] = own
            continue
        reported = units.get(unit)
        holds = running or (reported is not None and reported.upgrade_prepared == config.image_tag)
        found[unit] = {ref: (own[ref] or "reported") if holds else None for ref in references}
    return found
