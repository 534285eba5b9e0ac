"""Every container of every unit of every bundle and overlay, checked against the image contract.

The simulation renders the env files the charms write on a real deployment; here each one is
read back and held against what the images' own scripts read (`lib/contrail_common/images`):
required variables present and well formed for the release line, nothing set that no script
reads (unless the contract says why), and the per-member settings that decide a Kafka broker
id, a ZooKeeper myid and a Cassandra node's seeds right for 1, 3 and 5 members.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from model import Model

from contrail_common.containers.images import split_reference
from contrail_common.images import contract
from contrail_common.images.releases import ReleaseLine, line_for_tag
from contrail_common.services import JUJU_APP_LABEL

REPO = Path(__file__).resolve().parents[2]
STANDARD = REPO / "bundles" / "k8s-contrail.yaml"
NESTED = REPO / "bundles" / "k8s-contrail-nested.yaml"
OVERLAYS = REPO / "bundles" / "overlays"
CONTROL_PLANE = ("contrail-controller", "contrail-analytics", "contrail-analyticsdb")


def rendered(model: Model) -> list[dict]:
    """Each Contrail container in the model: its app, machine address, line, image and env."""
    found = []
    for machine in model.machines.values():
        for container in machine.engine.containers.values():
            app = container.spec.labels[JUJU_APP_LABEL]
            options = model.document["applications"][app].get("options") or {}
            repository, tag = split_reference(container.spec.image)
            line = line_for_tag(tag, options.get("release-line", "auto"))
            name = repository.rsplit("/", 1)[-1]
            assert name.startswith(f"{line.prefix}-"), f"{name}: not a {line.name} image name"
            found.append(
                {
                    "app": app,
                    "container": container.spec.name,
                    "address": machine.address,
                    "line": line,
                    "image": name.removeprefix(f"{line.prefix}-"),
                    "env": container.spec.resolved_env(),
                }
            )
    return found


def assert_keeps_the_contract(model: Model) -> list[dict]:
    containers = rendered(model)
    assert containers, "the model created no container"
    broken = {}
    for c in containers:
        line: ReleaseLine = c["line"]
        where = f"{c['app']}@{c['address']}/{c['container']} ({line.name} {c['image']})"
        problems = contract.problems(line, c["image"], c["env"], c["address"])
        unread = contract.unread(line.name, c["image"], c["env"])
        if problems or unread:
            broken[where] = problems + [f"{name} is read by no script" for name in unread]
    assert broken == {}
    return containers


def positions(containers: list[dict], image: str, variable: str) -> list[int]:
    """Each container's place (1-based) of its own address in `variable`, as the images'
    find_my_ip_and_order_for_node computes it: the broker id, the myid."""
    return sorted(
        c["env"][variable].split(",").index(c["address"]) + 1
        for c in containers
        if c["image"] == image
    )


def deploy(bundle: Path, *overlays: str, extra_units: int = 0) -> Model:
    model = Model(bundle, [OVERLAYS / name for name in overlays])
    if bundle == NESTED:  # the operator's Keystone password, handed over as a user secret
        model.hand_over_secret(
            "contrail-kubernetes-master",
            "nested_keystone_password",
            {"password": "underlay-s3cret"},
        )
    model.deploy()
    for _ in range(extra_units):
        for app in CONTROL_PLANE:
            model.add_unit(app)
    model.settle()
    model.update_status()
    return model


@pytest.mark.parametrize(
    "overlays, extra, members",
    [((), 0, 1), (("ha.yaml",), 0, 3), (("ha.yaml",), 2, 5)],
    ids=["1-member", "3-members", "5-members"],
)
def test_members_get_distinct_ids_and_find_themselves(overlays, extra, members):
    model = deploy(STANDARD, *overlays, extra_units=extra)
    try:
        assert all(s.name == "active" for s in model.statuses().values()), model.statuses()
        containers = assert_keeps_the_contract(model)
        everyone = list(range(1, members + 1))
        assert positions(containers, "external-kafka", "KAFKA_NODES") == everyone
        assert positions(containers, "external-zookeeper", "ZOOKEEPER_NODES") == everyone
        for cassandra in (c for c in containers if c["image"] == "external-cassandra"):
            seeds = cassandra["env"]["CASSANDRA_SEEDS"].split(",")
            assert cassandra["address"] in seeds and len(seeds) == members
        kafka = [c for c in containers if c["image"] == "external-kafka"]
        assert len(kafka) == members and all("KAFKA_LISTEN_ADDRESS" not in c["env"] for c in kafka)
    finally:
        model.close()


@pytest.mark.parametrize(
    "bundle, overlays",
    [
        (STANDARD, ("cos.yaml",)),
        (STANDARD, ("r25.1.yaml",)),
        (STANDARD, ("r2011.yaml",)),
        (NESTED, ()),
    ],
    ids=["cos", "r25.1", "r2011", "nested"],
)
def test_every_container_of_the_bundle_keeps_the_contract(bundle, overlays):
    model = deploy(bundle, *overlays)
    try:
        containers = assert_keeps_the_contract(model)
        lines = {c["line"].name for c in containers}
        expected = {"r25.1.yaml": "R25.1", "r2011.yaml": "R2011"}.get(
            overlays[0] if overlays else ""
        )
        assert lines == {expected or "R24.1"}
        for node_init in (c for c in containers if c["image"] == "node-init"):
            line = node_init["line"]
            status = node_init["env"]["CONTRAIL_STATUS_IMAGE"]
            assert status.endswith(f"/{line.prefix}-status:{split_reference(status)[1]}")
    finally:
        model.close()


def test_nested_kube_manager_reaches_the_underlay_keystone():
    model = deploy(NESTED)
    try:
        (manager,) = [c for c in rendered(model) if c["image"] == "kubernetes-kube-manager"]
        env = manager["env"]
        assert "KEYSTONE_AUTH_URL" not in env
        assert env["KEYSTONE_AUTH_HOST"] not in ("", "127.0.0.1")
        assert env["KEYSTONE_AUTH_PROTO"] in ("http", "https")
        assert env["KEYSTONE_AUTH_ADMIN_PORT"] == env["KEYSTONE_AUTH_PUBLIC_PORT"]
        assert env["KEYSTONE_AUTH_PROJECT_DOMAIN_NAME"] == "Default"
    finally:
        model.close()


def test_two_pod_subnets_reach_kube_manager_as_a_space_list_and_the_agent_as_one():
    config = {"contrail-kubernetes-master": {"pod_subnets": "10.32.0.0/12,10.48.0.0/16"}}
    model = Model(STANDARD, config=config)
    try:
        model.deploy()
        containers = assert_keeps_the_contract(model)
        by_image = collections.defaultdict(list)
        for c in containers:
            by_image[c["image"]].append(c["env"])
        (manager,) = by_image["kubernetes-kube-manager"]
        assert manager["KUBERNETES_POD_SUBNETS"] == "10.32.0.0/12 10.48.0.0/16"
        assert {env["KUBERNETES_POD_SUBNETS"] for env in by_image["vrouter-agent"]} == {
            "10.32.0.0/12"
        }
        notes = [str(s) for name, s in model.statuses().items() if "agent" in name]
        assert notes and all("only pod subnet 10.32.0.0/12 is routed" in n for n in notes)
    finally:
        model.close()
