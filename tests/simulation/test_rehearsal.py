"""Whole-model simulation: the bundles converge to active, in any order, and changes stay local."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from machines import kubeconfig_hash
from model import Model

REPO = Path(__file__).resolve().parents[2]
STANDARD = REPO / "bundles" / "k8s-contrail.yaml"
NESTED = REPO / "bundles" / "k8s-contrail-nested.yaml"
SEEDS = range(1, 9)


@pytest.fixture
def standard():
    model = Model(STANDARD)
    yield model
    model.close()


def not_active(model: Model) -> dict[str, str]:
    return {
        name: str(status) for name, status in model.statuses().items() if status.name != "active"
    }


def app_bag(model: Model, app: str, endpoint_app: str) -> dict:
    """The decoded app databag `app` wrote on its relation with `endpoint_app`."""
    for relation in model.relations:
        apps = {side.app for side in relation.sides}
        if apps == {app, endpoint_app}:
            return {k: json.loads(v) for k, v in model.app_bags[(relation.id, app)].items()}
    raise KeyError((app, endpoint_app))


def test_standard_bundle_converges_with_the_expected_data(standard):
    standard.deploy()
    print(f"standard bundle: {standard.hooks} hooks")
    assert not_active(standard) == {}
    controller_ip = standard.apps["contrail-controller"].units[0].machine.address
    to_agents = app_bag(standard, "contrail-controller", "contrail-agent")
    assert to_agents["controller-ips"] == [controller_ip]
    assert to_agents["analytics-ips"] == [
        standard.apps["contrail-analytics"].units[0].machine.address
    ]
    assert to_agents["analyticsdb-ips"] == [
        standard.apps["contrail-analyticsdb"].units[0].machine.address
    ]
    assert to_agents["kubernetes-clusters"]["k8s"]["pod-subnets"] == ["10.32.0.0/12"]
    for unit in standard.apps["contrail-kubernetes-node"].units:
        cni = [
            bag
            for (rid, owner), bag in standard.unit_bags.items()
            if owner == unit.name and "cidr" in bag
        ]
        assert cni == [{"cidr": "10.32.0.0/12", "cni-conf-file": "01-juniper-contrail.conf"}]
    # One vRouter and one CNI per Kubernetes machine, kube-manager on the control plane.
    for app in ("contrail-agent", "contrail-kubernetes-node"):
        assert len(standard.apps[app].units) == 3
    assert len(standard.apps["contrail-kubernetes-master"].units) == 1


def test_nested_bundle_converges_without_the_contrail_control_plane():
    model = Model(NESTED)
    try:
        model.hand_over_secret(
            "contrail-kubernetes-master",
            "nested_keystone_password",
            {"password": "underlay-s3cret"},
        )
        model.deploy()
        print(f"nested bundle: {model.hooks} hooks")
        assert not_active(model) == {}
        to_nodes = app_bag(model, "contrail-kubernetes-master", "contrail-kubernetes-node")
        assert (to_nodes["nested-vip"], to_nodes["nested-port"]) == ("10.10.10.5", 9091)
        for bag in list(model.app_bags.values()) + list(model.unit_bags.values()):
            assert all("underlay-s3cret" not in value for value in bag.values())
    finally:
        model.close()


def normalised(model: Model) -> dict:
    """The final state without what differs by chance: generated secret IDs, the fake API's
    port (and so the kubeconfig hash), the arrival order of peer members (and so their ids), and TLS material
    (each model's issuer has a CA of its own, each unit a key of its own)."""
    port = str(model.api.httpd.server_address[1])
    digest = kubeconfig_hash(model._kubeconfig())

    def clean(key: str, text: str) -> str:
        if key in ("certificate_signing_requests", "certificates", "ca-certs"):
            return "TLS"
        text = re.sub(r"[0-9a-f]{64}", "FINGERPRINT", text)
        text = re.sub(r"x500UniqueIdentifier=[0-9a-f-]{36}", "x500UniqueIdentifier=ID", text)
        text = re.sub(r"secret:[0-9a-z]{20}", "secret:ID", text).replace(port, "PORT")
        text = text.replace(digest, "HASH")
        if key == "members":  # ids are given in arrival order: each order numbers 1..n
            members = sorted(json.loads(text), key=lambda member: member["unit"])
            assert sorted(m.pop("id") for m in members) == list(range(1, len(members) + 1))
            text = json.dumps(members)
        return text

    bags = {}
    for store in (model.app_bags, model.unit_bags):
        for (rid, owner), bag in store.items():
            if bag:
                bags[f"{rid}/{owner}"] = {k: clean(k, v) for k, v in bag.items()}
    containers = {
        f"{m.name}/{cid}": (c.spec.image, c.state.value)
        for m in model.machines.values()
        for cid, c in m.engine.containers.items()
    }
    return {
        "bags": bags,
        "containers": containers,
        "status": {n: str(s) for n, s in model.statuses().items()},
    }


def test_any_relation_and_unit_order_converges_to_the_same_state(standard):
    standard.deploy()
    reference = normalised(standard)
    hooks = [standard.hooks]
    for seed in SEEDS:
        model = Model(STANDARD, seed=seed)
        try:
            model.deploy(shuffle=True)
            assert not_active(model) == {}, f"seed {seed}"
            assert normalised(model) == reference, f"seed {seed} converged elsewhere"
            hooks.append(model.hooks)
        finally:
            model.close()
    print(f"hook runs over {len(hooks)} orders: best {min(hooks)}, worst {max(hooks)}")


def test_controller_log_level_recreates_exactly_the_controllers_contrail_containers(standard):
    standard.deploy()
    before = standard.container_hashes()
    standard.configure("contrail-controller", **{"log-level": "SYS_DEBUG"})
    after = standard.container_hashes()
    changed = {key for key in after if after[key] != before.get(key)}
    third_party = {"configdb-cassandra", "configdb-zookeeper", "configdb-rabbitmq", "redis"}
    expected = {
        key
        for key in before
        if "contrail-controller-0-" in key and key.rsplit("-0-", 1)[1] not in third_party
    }
    assert changed == expected
    assert not_active(standard) == {}


def test_adding_a_worker_adds_its_vrouter_and_cni_and_recreates_no_controller_container(standard):
    standard.deploy()
    before = standard.container_hashes()
    new = standard.add_unit("kubernetes-worker")
    assert sorted(u.app for u in new if u.app.startswith("contrail")) == [
        "contrail-agent",
        "contrail-kubernetes-node",
    ]
    after = standard.container_hashes()
    assert {k: v for k, v in after.items() if k in before} == before, (
        "no existing container changed"
    )
    assert not_active(standard) == {}


def test_ha_overlay_forms_three_unit_clusters():
    model = Model(STANDARD, [REPO / "bundles" / "overlays" / "ha.yaml"])
    try:
        model.deploy()
        assert not_active(model) == {}
        to_agents = app_bag(model, "contrail-controller", "contrail-agent")
        controllers = [u.machine.address for u in model.apps["contrail-controller"].units]
        assert to_agents["controller-ips"] == controllers
        assert len(to_agents["analytics-ips"]) == 3 and len(to_agents["analyticsdb-ips"]) == 3
    finally:
        model.close()


def test_rehearse_command_prints_a_status_table(capsys):
    import rehearse

    assert (
        rehearse.main([str(STANDARD), "--config", "contrail-controller.log-level=SYS_INFO"]) == 0
    )
    out = capsys.readouterr().out
    assert "contrail-controller/0*" in out and "active    Unit is ready" in out
    assert "hooks run" in out and "Rendered env files" in out


def test_cos_overlay_feeds_the_agent_from_every_contrail_unit():
    """grafana-agent beside every unit: each Contrail unit publishes valid cos_agent data and
    runs one exporter, on a port of its own on machines that several Contrail units share."""
    from contrail_interfaces.cos_agent_v0 import ProviderUnitData

    model = Model(STANDARD, [REPO / "bundles" / "overlays" / "cos.yaml"])
    try:
        model.deploy()
        assert not_active(model) == {}
        cos_relations = {
            r.id: {s.app for s in r.sides} - {"grafana-agent"}
            for r in model.relations
            if any(s.app == "grafana-agent" for s in r.sides)
        }
        ports_per_machine: dict[str, list[int]] = {}
        for unit in model.units:
            published = [
                ProviderUnitData.model_validate_json(bag[ProviderUnitData.KEY])
                for (rid, owner), bag in model.unit_bags.items()
                if owner == unit.name and rid in cos_relations and ProviderUnitData.KEY in bag
            ]
            assert len(published) == 1, unit.name
            (target,) = published[0].metrics_scrape_jobs[0]["static_configs"][0]["targets"]
            ports_per_machine.setdefault(unit.machine.name, []).append(int(target.split(":")[1]))
            service = f"etc/systemd/system/contrail-exporter-{unit.name.replace('/', '-')}.service"
            unit_file = (unit.machine.host.path("/") / service).read_text()
            assert f"--listen 127.0.0.1:{target.split(':')[1]}" in unit_file
        for machine, ports in ports_per_machine.items():
            assert len(ports) == len(set(ports)), f"two exporters share a port on {machine}"
        control_plane = max(ports_per_machine.values(), key=len)
        assert sorted(control_plane) == [9744, 9745, 9746]  # agent, master and CNI together
    finally:
        model.close()
