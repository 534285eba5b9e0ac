"""The CNI subordinate through ops.testing: paths to active, relation data, host files."""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest
from charm import ContrailKubernetesNodeCharm
from conftest import (
    CONTROL_PLANE,
    MASTER,
    PROJECT,
    TAG,
    VERSION,
    WORKER,
    cni,
    cni_unit_data,
    conf_path,
    control_plane,
    install_binary,
    master,
    nested_master,
    principal_data,
    ready_state,
    write_routes,
)
from kubernetes_node import KubernetesNodeConfig
from ops import testing

from contrail_common.config import InvalidConfigError
from contrail_common.containers.spec import HASH_LABEL, container_id
from contrail_common.testing import (
    MALFORMED_SECRET_URI,
    juju_delivers,
    read_env_file,
    write_host_file,
)

CNI_INIT = container_id(PROJECT, "cni-init")
STANDARD_CONF = {
    "cniVersion": "0.3.1",
    "name": "contrail-k8s-cni",
    "type": "contrail-k8s-cni",
    "contrail": {
        "cluster-name": "k8s",
        "meta-plugin": "multus",
        "vrouter-ip": "127.0.0.1",
        "vrouter-port": 9091,
        "config-dir": "/var/lib/contrail/ports/vm",
        "poll-timeout": 5,
        "poll-retries": 15,
        "log-file": "/var/log/contrail/cni/opencontrail.log",
        "log-level": "4",
    },
}
SETTINGS = {"cluster-name": '"k8s"', "pod-subnets": '["10.32.0.0/12"]'}
NESTED = {**SETTINGS, "nested-mode": "true", "nested-vip": '"10.10.10.5"'}
WAITING_FOR_WORKER = "waiting for kubernetes-worker to write its kubeconfig (kubeconfig-hash)"


@pytest.fixture
def probe(monkeypatch):
    """The nested-mode TCP probe, answering from `reachable`; records what it was asked."""
    calls: list[tuple[str, int]] = []
    reachable = {"value": True}

    def fake(self, address, port):
        calls.append((address, port))
        return reachable["value"]

    monkeypatch.setattr(ContrailKubernetesNodeCharm, "probe", fake)
    return calls, reachable


def with_relation(state: testing.State, relation) -> testing.State:
    """`state` with `relation` replacing the one of the same id (or added)."""
    others = [r for r in state.relations if r.id != relation.id]
    return dataclasses.replace(state, relations=[*others, relation])


def spec_hash(engine) -> str:
    return engine.containers[CNI_INIT].labels[HASH_LABEL]


# -- paths to active ----------------------------------------------------------------------


def test_worker_node_goes_active(ctx, engine, host):
    install_binary(host)
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == {"cni-init"}
    assert out.workload_version == VERSION
    env = read_env_file(host, PROJECT, "cni-init")
    assert env["LOG_LEVEL"] == "SYS_NOTICE"
    assert env["KUBERNETES_CLUSTER_NAME"] == "k8s"
    assert "KUBERNETES_POD_SUBNETS" not in env  # cni-init reads no pod subnets
    assert env["KUBECONFIG_HASH"] == "abc123"
    assert "KUBEMANAGER_NESTED_MODE" not in env
    assert cni_unit_data(out) == [
        {"cidr": "10.32.0.0/12", "cni-conf-file": "01-juniper-contrail.conf"}
    ]


def test_cni_init_container_spec(ctx, engine, host):
    install_binary(host)
    ctx.run(ctx.on.install(), ready_state())
    spec = engine.containers[CNI_INIT].spec
    assert spec.image == f"opensdn/contrail-kubernetes-cni-init:{TAG}"
    assert spec.restart.value == "no", "a one-shot job"
    mounts = {m.source: m.target for m in spec.mounts}
    assert mounts["/etc/cni"] == "/host/etc_cni"
    assert mounts["/opt/cni/bin"] == "/host/opt_cni_bin"
    assert mounts["/var/lib/contrail"] == "/var/lib/contrail"
    assert mounts["/var/log/contrail/cni"] == "/var/log/contrail/cni"
    assert spec.labels["net.juniper.contrail"] == "cni"
    assert spec.labels["net.juniper.node"] == "k8s-node"
    assert spec.network_mode == "host"


def test_control_plane_node_goes_active(ctx, engine, host):
    install_binary(host)
    out = ctx.run(ctx.on.install(), ready_state(relations=[control_plane(), master()]))
    assert out.unit_status.name == "active"
    assert cni_unit_data(out) == [
        {"cidr": "10.32.0.0/12", "cni-conf-file": "01-juniper-contrail.conf"}
    ]


def test_standard_cni_conf(ctx, host):
    install_binary(host)
    ctx.run(ctx.on.install(), ready_state())
    path = conf_path(host)
    assert json.loads(path.read_text()) == STANDARD_CONF
    assert path.stat().st_mode & 0o7777 == 0o644


def test_nested_node_goes_active(ctx, engine, host, probe):
    calls, _ = probe
    install_binary(host)
    write_routes(host)
    out = ctx.run(ctx.on.install(), ready_state(relations=[cni(), nested_master(port=9092)]))
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert calls[-1] == ("10.10.10.5", 9092)
    env = read_env_file(host, PROJECT, "cni-init")
    assert env["KUBEMANAGER_NESTED_MODE"] == "1"
    assert env["KUBERNESTES_NESTED_VROUTER_VIP"] == "10.10.10.5"
    assert env["VROUTER_PORT"] == "9092"
    conf = json.loads(conf_path(host).read_text())
    assert conf["contrail"] == {
        **STANDARD_CONF["contrail"],
        "mode": "k8s",
        "vif-type": "macvlan",
        "parent-interface": "ens3",
        "vrouter-ip": "10.10.10.5",
        "vrouter-port": 9092,
    }
    assert conf_path(host).stat().st_mode & 0o7777 == 0o644


def test_nested_port_defaults_to_9091(ctx, host, probe):
    install_binary(host)
    write_routes(host)
    relation = master(nested_mode=True, nested_vip="10.10.10.5")
    out = ctx.run(ctx.on.install(), ready_state(relations=[cni(), relation]))
    assert out.unit_status.name == "active"
    assert json.loads(conf_path(host).read_text())["contrail"]["vrouter-port"] == 9091


def test_unreachable_underlay_agent_waits_then_goes_active(ctx, host, probe):
    _, reachable = probe
    install_binary(host)
    write_routes(host)
    reachable["value"] = False
    state = ready_state(relations=[cni(), nested_master()])
    out = ctx.run(ctx.on.install(), state)
    assert out.unit_status == testing.WaitingStatus(
        "cannot reach the underlay vRouter agent at 10.10.10.5:9091: create the link-local "
        "service K8s-cni-to-agent in the underlay Contrail"
    )
    assert conf_path(host).exists(), "the config is in place; only the agent is missing"
    reachable["value"] = True
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "active"


def test_nested_without_vip_waits(ctx, engine, host):
    write_routes(host)
    out = ctx.run(ctx.on.install(), ready_state(relations=[cni(), master(nested_mode=True)]))
    assert out.unit_status == testing.WaitingStatus(
        f"waiting for {MASTER} to publish the underlay vRouter address (nested-vip)"
    )
    assert engine.containers == {}


def test_nested_without_default_route_blocks(ctx, engine, probe):
    out = ctx.run(ctx.on.install(), ready_state(relations=[cni(), nested_master()]))
    assert out.unit_status.name == "blocked"
    assert "nested mode: this machine has no IPv4 default route" in out.unit_status.message
    assert engine.containers == {}


# -- what every unit tells its principal ---------------------------------------------------


@pytest.mark.parametrize("leader", [True, False])
def test_every_unit_publishes_cidr_and_conf_file(ctx, host, leader):
    install_binary(host)
    relation = master(pod_subnets=("10.32.0.0/12", "fd00:10::/64"))
    out = ctx.run(ctx.on.config_changed(), ready_state(leader=leader, relations=[cni(), relation]))
    assert cni_unit_data(out) == [
        {"cidr": "10.32.0.0/12,fd00:10::/64", "cni-conf-file": "01-juniper-contrail.conf"}
    ]
    assert out.unit_status.name == "active"


def test_conf_file_is_published_before_the_pod_subnets_are_known(ctx):
    out = ctx.run(ctx.on.install(), ready_state(relations=[cni()]))
    assert cni_unit_data(out) == [{"cni-conf-file": "01-juniper-contrail.conf"}]


def test_cidr_is_published_while_the_kubeconfig_is_missing(ctx, engine, host):
    out = ctx.run(ctx.on.install(), ready_state(relations=[cni(kubeconfig_hash=None), master()]))
    assert cni_unit_data(out) == [
        {"cidr": "10.32.0.0/12", "cni-conf-file": "01-juniper-contrail.conf"}
    ]
    assert out.unit_status == testing.WaitingStatus(WAITING_FOR_WORKER)
    assert engine.containers == {}
    assert not conf_path(host).exists()


def test_cidr_is_withdrawn_when_the_master_goes(ctx, host):
    install_binary(host)
    out = ctx.run(ctx.on.install(), ready_state())
    without = dataclasses.replace(out, relations=[r for r in out.relations if r.endpoint == "cni"])
    out = ctx.run(ctx.on.config_changed(), without)
    assert cni_unit_data(out) == [{"cni-conf-file": "01-juniper-contrail.conf"}]
    assert conf_path(host).exists(), "running pods keep their network config"


# -- the kubeconfig hash -------------------------------------------------------------------


def test_kubeconfig_hash_gates_then_reruns_cni_init(ctx, engine, host):
    install_binary(host)
    relation = cni(kubeconfig_hash=None)
    state = ready_state(relations=[relation, master()])
    out = ctx.run(ctx.on.relation_joined(relation), state)
    assert out.unit_status == testing.WaitingStatus(WAITING_FOR_WORKER)
    assert engine.containers == {}

    hashed = dataclasses.replace(relation, remote_unit_data=principal_data(kubeconfig_hash="h1"))
    out = ctx.run(ctx.on.relation_changed(hashed), with_relation(out, hashed))
    assert out.unit_status.name == "active"
    first = spec_hash(engine)

    out = ctx.run(ctx.on.relation_changed(hashed), with_relation(out, hashed))
    assert spec_hash(engine) == first, "the same kubeconfig does not re-run cni-init"

    rehashed = dataclasses.replace(relation, remote_unit_data=principal_data(kubeconfig_hash="h2"))
    writes = engine.io.writes
    out = ctx.run(ctx.on.relation_changed(rehashed), with_relation(out, rehashed))
    assert spec_hash(engine) != first, "a new kubeconfig re-runs cni-init"
    assert engine.io.writes > writes
    assert read_env_file(host, PROJECT, "cni-init")["KUBECONFIG_HASH"] == "h2"
    assert out.unit_status.name == "active"


def test_empty_kubeconfig_hash_waits(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state(relations=[cni(kubeconfig_hash=""), master()]))
    assert out.unit_status == testing.WaitingStatus(WAITING_FOR_WORKER)
    assert engine.containers == {}


def test_control_plane_without_kubeconfig_names_it(ctx):
    out = ctx.run(
        ctx.on.install(), ready_state(relations=[control_plane(kubeconfig_hash=None), master()])
    )
    assert out.unit_status == testing.WaitingStatus(
        f"waiting for {CONTROL_PLANE} to write its kubeconfig (kubeconfig-hash)"
    )


# -- missing, partial and malformed data ---------------------------------------------------


def test_without_the_master_it_blocks_and_names_the_fix(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state(relations=[cni()]))
    assert out.unit_status == testing.BlockedStatus(
        "missing relation: contrail-kubernetes-config "
        "(juju integrate contrail-kubernetes-node contrail-kubernetes-master)"
    )
    assert engine.containers == {}


def test_without_a_principal_it_blocks_and_names_both(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state(relations=[master()]))
    assert out.unit_status == testing.BlockedStatus(
        "missing relation: cni (juju integrate contrail-kubernetes-node "
        "kubernetes-control-plane:cni; juju integrate contrail-kubernetes-node "
        "kubernetes-worker:cni)"
    )
    assert engine.containers == {}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"cluster-name": '"k8s"'},
        {"pod-subnets": '["10.32.0.0/12"]'},
        {"cluster-name": '""', "pod-subnets": '["10.32.0.0/12"]'},
        {"cluster-name": '"k8s"', "pod-subnets": "[]"},
    ],
)
def test_master_without_cluster_settings_waits(ctx, engine, data):
    relation = testing.Relation(
        "contrail-kubernetes-config", remote_app_name=MASTER, remote_app_data=data
    )
    out = ctx.run(ctx.on.relation_changed(relation), ready_state(relations=[cni(), relation]))
    assert out.unit_status == testing.WaitingStatus(
        f"waiting for {MASTER} to publish the cluster settings"
    )
    assert engine.containers == {}


@pytest.mark.parametrize(
    "data, field",
    [
        ({"cluster-name": '"k8s"', "pod-subnets": '["10.32.0.999/12"]'}, "pod-subnets"),
        ({"cluster-name": '"k8s"', "pod-subnets": "not json"}, ""),
        ({"cluster-name": "42", "pod-subnets": '["10.32.0.0/12"]'}, "cluster-name"),
        ({**SETTINGS, "nested-mode": '"maybe"'}, "nested-mode"),
        ({**SETTINGS, "nested-vip": '"vip"'}, "nested-vip"),
        ({**NESTED, "nested-port": "70000"}, "nested-port"),
        ({**NESTED, "nested-port": "0"}, "nested-port"),
    ],
)
def test_malformed_master_data_blocks(ctx, engine, host, data, field):
    write_routes(host)
    relation = testing.Relation(
        "contrail-kubernetes-config", remote_app_name=MASTER, remote_app_data=data
    )
    out = ctx.run(ctx.on.relation_changed(relation), ready_state(relations=[cni(), relation]))
    assert out.unit_status.name == "blocked"
    message = out.unit_status.message
    assert f"contrail-kubernetes-config data from {MASTER} is malformed" in message
    assert field in message
    assert f"fix or upgrade {MASTER}" in message
    assert engine.containers == {}


def test_malformed_service_cidr_blocks(ctx, engine):
    relation = control_plane(service_cidr="10.152.183.0/33")
    out = ctx.run(ctx.on.relation_changed(relation), ready_state(relations=[relation, master()]))
    assert out.unit_status == testing.BlockedStatus(
        f"cni data from {CONTROL_PLANE}/0 is malformed (service-cidr): fix or upgrade {CONTROL_PLANE}"
    )
    assert engine.containers == {}


def test_service_cidr_overlapping_a_pod_subnet_blocks(ctx, engine, host):
    relation = control_plane(service_cidr="10.152.183.0/24,fd00:ff::/108")
    pods = master(pod_subnets=("10.152.0.0/16", "fd00:10::/64"))
    out = ctx.run(ctx.on.relation_changed(relation), ready_state(relations=[relation, pods]))
    assert out.unit_status == testing.BlockedStatus(
        "pod subnet 10.152.0.0/16 overlaps the Kubernetes service CIDR 10.152.183.0/24: "
        f"change pod_subnets on {MASTER}"
    )
    assert engine.containers == {}
    assert not conf_path(host).exists()


def test_several_masters_block(ctx, engine):
    other = testing.Relation(
        "contrail-kubernetes-config",
        remote_app_name="other-master",
        remote_app_data=master().remote_app_data,
    )
    out = ctx.run(ctx.on.install(), ready_state(relations=[cni(), master(), other]))
    assert out.unit_status == testing.BlockedStatus(
        f"contrail-kubernetes-config: related to {MASTER}, other-master; "
        "relate exactly one contrail-kubernetes-master"
    )
    assert engine.containers == {}


def test_every_problem_at_once(ctx):
    out = ctx.run(ctx.on.install(), ready_state(config={}, relations=[cni(kubeconfig_hash=None)]))
    message = out.unit_status.message
    assert out.unit_status.name == "blocked"
    assert "image-tag: set the Contrail release" in message
    assert "missing relation: contrail-kubernetes-config" in message
    assert "(+1 more)" in message, "the missing kubeconfig is counted"


# -- the workload's health -----------------------------------------------------------------


def test_missing_binary_waits(ctx, engine, host):
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.WaitingStatus(
        "waiting for cni-init to install /opt/cni/bin/contrail-k8s-cni"
    )
    assert set(engine.status(PROJECT)) == {"cni-init"}
    install_binary(host)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "active"


def test_deleted_conf_waits_and_is_rewritten_on_the_next_reconcile(ctx, host):
    install_binary(host)
    out = ctx.run(ctx.on.install(), ready_state())
    conf_path(host).unlink()
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.WaitingStatus(
        "waiting for /etc/cni/net.d/01-juniper-contrail.conf to be written"
    )
    out = ctx.run(ctx.on.config_changed(), out)
    assert out.unit_status.name == "active"
    assert json.loads(conf_path(host).read_text()) == STANDARD_CONF


def test_cni_init_exit_code_decides(ctx, engine, host):
    install_binary(host)
    out = ctx.run(ctx.on.install(), ready_state())
    engine.crash(PROJECT, "cni-init", exit_code=0)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "active", "a one-shot job that exited 0 is done"
    engine.crash(PROJECT, "cni-init", exit_code=1)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.BlockedStatus("containers exited: cni-init (code 1)")


def test_update_status_writes_nothing(ctx, engine, host):
    install_binary(host)
    out = ctx.run(ctx.on.install(), ready_state())
    path = conf_path(host)
    stamp = path.stat().st_mtime_ns
    writes = engine.io.writes
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "active"
    assert engine.io.writes == writes
    assert path.stat().st_mtime_ns == stamp


def test_reconcile_is_idempotent(ctx, engine, host):
    install_binary(host)
    out = ctx.run(ctx.on.install(), ready_state())
    stamp = conf_path(host).stat().st_mtime_ns
    writes = engine.io.writes
    out = ctx.run(ctx.on.config_changed(), out)
    assert engine.io.writes == writes
    assert conf_path(host).stat().st_mtime_ns == stamp
    assert out.unit_status.name == "active"


# -- relation orders -----------------------------------------------------------------------


@pytest.mark.parametrize("hash_late", [False, True])
@pytest.mark.parametrize("order", list(itertools.permutations(["cni", "master"])))
def test_relation_orders_converge(ctx, engine, host, order, hash_late):
    install_binary(host)
    builders = {
        "cni": lambda: cni(kubeconfig_hash=None if hash_late else "abc123"),
        "master": master,
    }
    state = ctx.run(ctx.on.install(), testing.State(config={"image-tag": TAG}))
    for name in order:
        relation = builders[name]()
        state = with_relation(state, relation)
        state = ctx.run(ctx.on.relation_created(relation), state)
        state = ctx.run(ctx.on.relation_joined(state.get_relation(relation.id)), state)
        state = ctx.run(ctx.on.relation_changed(state.get_relation(relation.id)), state)
    if hash_late:
        assert state.unit_status == testing.WaitingStatus(WAITING_FOR_WORKER)
        (relation,) = [r for r in state.relations if r.endpoint == "cni"]
        hashed = dataclasses.replace(
            relation, remote_unit_data=principal_data(kubeconfig_hash="h")
        )
        state = ctx.run(ctx.on.relation_changed(hashed), with_relation(state, hashed))
    assert state.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == {"cni-init"}
    assert cni_unit_data(state) == [
        {"cidr": "10.32.0.0/12", "cni-conf-file": "01-juniper-contrail.conf"}
    ]


# -- config --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, value",
    [
        ("log-level", "LOUD"),
        ("container-runtime", "rkt"),
        ("registry-credentials", MALFORMED_SECRET_URI),
        ("http-proxy", "not a url"),
        ("https-proxy", "proxy:1"),
        ("no-proxy", "a\nb"),
        ("docker-registry", "x\ny"),
        ("image-tag", "1\n2"),
    ],
)
def test_invalid_option_blocks_naming_it(ctx, engine, host, option, value, monkeypatch):
    juju_delivers(monkeypatch, value)
    out = ctx.run(ctx.on.config_changed(), ready_state(config={"image-tag": TAG, option: value}))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("invalid config: ")
    assert option in out.unit_status.message
    assert engine.containers == {}
    assert not conf_path(host).exists()


def test_invalid_boolean_is_named():
    # Juju itself refuses a non-boolean for a boolean option; the model names it all the same.
    with pytest.raises(InvalidConfigError) as raised:
        KubernetesNodeConfig.load({"docker-registry-insecure": "maybe"})
    assert raised.value.options == ["docker-registry-insecure"]


def test_log_level_and_proxies_reach_cni_init(ctx, host):
    install_binary(host)
    config = {"image-tag": TAG, "log-level": "SYS_DEBUG", "http-proxy": "http://proxy:3128"}
    ctx.run(ctx.on.config_changed(), ready_state(config=config))
    env = read_env_file(host, PROJECT, "cni-init")
    assert env["LOG_LEVEL"] == "SYS_DEBUG"
    assert env["http_proxy"] == env["HTTP_PROXY"] == "http://proxy:3128"


# -- upgrade from the old file name --------------------------------------------------------

OLD_CONF = "/etc/cni/net.d/01-contrail.conf"


def test_upgrade_on_a_worker_replaces_the_old_conf(ctx, host):
    install_binary(host)
    old = write_host_file(host, OLD_CONF, json.dumps(STANDARD_CONF))
    out = ctx.run(ctx.on.upgrade_charm(), ready_state())
    assert out.unit_status.name == "active"
    assert json.loads(conf_path(host).read_text()) == STANDARD_CONF
    assert not old.exists()
    assert cni_unit_data(out)[0]["cni-conf-file"] == "01-juniper-contrail.conf"


def test_upgrade_on_the_control_plane_keeps_the_old_conf_until_its_link_moves(ctx, host):
    """A dangling 01-default link would make containerd refuse every CNI config."""
    install_binary(host)
    old = write_host_file(host, OLD_CONF, json.dumps(STANDARD_CONF))
    link = host.path("/etc/cni/net.d/01-default.conf")
    link.symlink_to("01-contrail.conf")
    out = ctx.run(ctx.on.upgrade_charm(), ready_state(relations=[control_plane(), master()]))
    assert conf_path(host).exists() and old.exists()
    out = ctx.run(ctx.on.update_status(), out)
    assert old.exists(), "still linked"
    link.unlink()
    link.symlink_to("01-juniper-contrail.conf")  # what the control plane does on relation-changed
    out = ctx.run(ctx.on.update_status(), out)
    assert not old.exists()
    assert out.unit_status.name == "active"


def test_an_old_conf_stays_while_ours_is_not_written(ctx, host):
    old = write_host_file(host, OLD_CONF, "{}")
    out = ctx.run(ctx.on.upgrade_charm(), ready_state(relations=[cni()]))
    assert out.unit_status.name == "blocked"
    assert old.exists(), "running pods keep their network until ours is in place"


# -- removal and actions -------------------------------------------------------------------


def test_remove_deletes_the_conf_and_the_container(ctx, engine, host):
    install_binary(host)
    out = ctx.run(ctx.on.install(), ready_state())
    image_conf = host.path("/etc/cni/net.d/10-contrail.conf")
    image_conf.write_text("{}")
    old = write_host_file(host, OLD_CONF, "{}")
    ctx.run(ctx.on.remove(), out)
    assert engine.containers == {}
    assert not conf_path(host).exists()
    assert not image_conf.exists()
    assert not old.exists()
    assert not host.path(f"/etc/contrail/{PROJECT}").exists()


def test_remove_before_anything_was_deployed(ctx, engine, host):
    ctx.run(ctx.on.remove(), testing.State(config={"image-tag": TAG}))
    assert engine.containers == {}
    assert not conf_path(host).exists()


def test_logs_action_lists_cni_init(ctx, host):
    install_binary(host)
    out = ctx.run(ctx.on.install(), ready_state())
    ctx.run(ctx.on.action("logs"), out)
    assert ctx.action_results is not None
    assert "cni-init" in ctx.action_results["containers"]


def test_principal_data_is_plain_strings(ctx, host):
    # The kubernetes-cni databags are not JSON: a JSON-quoted value would be read literally.
    install_binary(host)
    relation = cni(WORKER, kubeconfig_hash='"quoted"')
    ctx.run(ctx.on.install(), ready_state(relations=[relation, master()]))
    assert read_env_file(host, PROJECT, "cni-init")["KUBECONFIG_HASH"] == '"quoted"'
