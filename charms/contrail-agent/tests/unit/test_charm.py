"""The agent charm through ops.testing: containers, env, relations, clusters, config, status."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
import yaml
from agent_testing import (
    FQDN,
    K8S,
    KERNEL,
    PROJECT,
    SHORT,
    SYSCTL_DROP_IN,
    TAG,
    VERSION,
    controller,
    env,
    peer,
    principal,
    ready_state,
)
from ops import testing

from contrail_common.services import NODE_LABEL, ROLE_LABEL
from contrail_common.testing import MALFORMED_SECRET_URI, app_data, juju_delivers, unit_data

CHARMCRAFT = Path(__file__).resolve().parents[2] / "charmcraft.yaml"
KERNEL_CONTAINERS = {
    "node-init",
    "vrouter-nodemgr",
    "vrouter-provisioner",
    "vrouter-kernel-init",
    "vrouter-agent",
}


def spec(engine, name: str):
    return engine.containers[f"{PROJECT}-{name}"].spec


def test_kernel_mode_runs_every_container_and_becomes_active(ctx, engine, host, machine):
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == KERNEL_CONTAINERS
    assert out.workload_version == VERSION
    agent = env(host, "vrouter-agent")
    assert agent["CONTROLLER_NODES"] == "10.0.0.1"
    assert agent["CONTROL_NODES"] == "10.1.0.1"
    assert agent["ANALYTICS_NODES"] == "10.0.0.21"
    assert agent["CLOUD_ORCHESTRATOR"] == "kubernetes"
    assert agent["KUBERNETES_POD_SUBNETS"] == "10.32.0.0/12"
    assert (agent["KUBERNETES_API_SERVER"], agent["KUBERNETES_API_SECURE_PORT"]) == (
        "10.0.0.41",
        "6443",
    )
    assert agent["AGENT_MODE"] == "kernel"
    assert agent["VROUTER_GATEWAY"] == "10.0.0.1"  # vhost-gateway=auto, the default route's
    assert agent["VROUTER_HOSTNAME"] == FQDN
    assert "PHYSICAL_INTERFACE" not in agent  # empty: the agent takes the default route's NIC
    assert "K8S_TOKEN" not in agent, "the agent needs no Kubernetes token"
    for absent in ("HUGE_PAGES", "HUGE_PAGES_2MB", "HUGE_PAGES_1GB", "CPU_CORE_MASK", "L3MH_CIDR"):
        assert absent not in agent
    # The build reads nothing from its env (not even LOG_LEVEL); the release re-creates it.
    assert env(host, "vrouter-kernel-init") == {"KERNEL_RELEASE": KERNEL}


def test_defaults_reserve_no_hugepages(ctx, machine):
    ctx.run(ctx.on.install(), ready_state())
    assert not machine.path(SYSCTL_DROP_IN).exists()
    assert not machine.path("/etc/default/grub.d").exists()
    assert machine.read("/proc/sys/vm/nr_hugepages") == "0\n"
    assert ["update-grub"] not in machine.commands


def test_each_container_gets_only_its_own_env(ctx, host):
    ctx.run(ctx.on.install(), ready_state())
    node_init = env(host, "node-init")
    assert "KUBERNETES_POD_SUBNETS" not in node_init and "VROUTER_HOSTNAME" not in node_init
    nodemgr = env(host, "vrouter-nodemgr")
    assert nodemgr["NODE_TYPE"] == "vrouter" and nodemgr["VROUTER_HOSTNAME"] == FQDN
    assert "AGENT_MODE" not in nodemgr and "PHYSICAL_INTERFACE" not in nodemgr
    provisioner = env(host, "vrouter-provisioner")
    assert provisioner["AGENT_MODE"] == "kernel" and provisioner["NODE_TYPE"] == "vrouter"
    assert "VROUTER_MODULE_OPTIONS" not in provisioner


def test_containers_carry_the_vrouter_role_and_compute_node_labels(ctx, engine):
    ctx.run(ctx.on.install(), ready_state())
    for name in KERNEL_CONTAINERS - {"node-init"}:
        labels = spec(engine, name).labels
        assert labels[ROLE_LABEL] == "vrouter" and labels[NODE_LABEL] == "compute"
    agent = spec(engine, "vrouter-agent")
    assert agent.privileged and agent.pid_mode == "host"
    mounts = {(m.source, m.target, m.read_only) for m in agent.mounts}
    assert {
        ("/etc", "/host/etc", False),
        ("/dev", "/dev", False),
        ("/var/run", "/var/run", False),
        ("/etc/resolv.conf", "/etc/resolv.conf", True),
        ("/lib/modules", "/lib/modules", False),
        ("/var/lib/contrail", "/var/lib/contrail", False),
    } <= mounts
    kernel_init = spec(engine, "vrouter-kernel-init")
    assert kernel_init.privileged and kernel_init.restart.value == "no"
    assert {(m.source, m.target) for m in kernel_init.mounts} >= {
        ("/usr/src", "/usr/src"),
        ("/lib/modules", "/lib/modules"),
    }


def test_leader_publishes_unit_type_and_every_unit_its_facts(ctx, machine):
    out = ctx.run(ctx.on.install(), ready_state())
    (app,) = app_data(out, "contrail-controller")
    assert app["unit-type"] == "agent"
    (unit,) = unit_data(out, "contrail-controller")
    # vhost0 does not exist yet: the address of the NIC it will take over.
    assert unit == {"dpdk": False, "vhost-address": "10.0.0.10"}
    machine.add_interface("vhost0", "10.0.0.11")
    out = ctx.run(ctx.on.update_status(), out)
    out = ctx.run(ctx.on.config_changed(), out)
    (unit,) = unit_data(out, "contrail-controller")
    assert unit["vhost-address"] == "10.0.0.11"


def test_non_leader_publishes_its_facts_but_not_the_app_data(ctx):
    members = [{"unit": "contrail-agent/0", "address": "192.0.2.0", "data-address": "10.0.0.10"}]
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(leader=False, relations=[peer(members), controller(), principal()]),
    )
    assert out.unit_status.name == "active"
    (relation,) = out.get_relations("contrail-controller")
    assert "unit-type" not in relation.local_app_data
    assert unit_data(out, "contrail-controller")[0]["vhost-address"] == "10.0.0.10"


def test_non_leader_waits_for_the_leader_to_add_it(ctx, engine):
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(leader=False, relations=[peer([]), controller(), principal()]),
    )
    assert out.unit_status == testing.WaitingStatus("waiting for the leader to add this unit")
    assert engine.containers == {}


def test_hostname_short_and_explicit_gateway(ctx, host):
    ctx.run(
        ctx.on.config_changed(),
        ready_state(options={"hostname-use-fqdn": False, "vhost-gateway": "10.0.0.254"}),
    )
    agent = env(host, "vrouter-agent")
    assert agent["VROUTER_HOSTNAME"] == SHORT
    assert agent["VROUTER_GATEWAY"] == "10.0.0.254"


def test_auto_gateway_of_the_physical_interface_and_none_when_it_has_none(ctx, host, machine):
    machine.write(
        "/proc/net/route",
        machine.read("/proc/net/route")
        + "ens4\t000010AC\t0110A8C0\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0\n",
    )
    ctx.run(ctx.on.config_changed(), ready_state(options={"physical-interface": "ens4"}))
    agent = env(host, "vrouter-agent")
    assert agent["PHYSICAL_INTERFACE"] == "ens4"
    assert agent["VROUTER_GATEWAY"] == "192.168.16.1"
    machine.write("/proc/net/route", machine.read("/proc/net/route").splitlines(True)[0])
    ctx.run(ctx.on.config_changed(), ready_state(options={"physical-interface": "ens4"}))
    assert "VROUTER_GATEWAY" not in env(host, "vrouter-agent")


def test_vrouter_options_reach_the_agent(ctx, host):
    options = {
        "sriov-physical-interface": "ens5,ens6",
        "sriov-numvfs": "8, 4",
        "max-vm-flows": "50",
        "xflow-node-ip": "10.0.0.77",
        "vrouter-module-options": "vr_flow_entries=4000000  vr_nexthops=521000",
        "tcmalloc-heap-limit-mb": "0",
        "log-level": "SYS_DEBUG",
    }
    ctx.run(ctx.on.config_changed(), ready_state(options=options))
    agent = env(host, "vrouter-agent")
    assert agent["SRIOV_PHYSICAL_INTERFACE"] == "ens5,ens6"
    assert agent["SRIOV_VF"] == "8,4"
    assert agent["VROUTER_AGENT__FLOWS__max_vm_flows"] == "50"
    assert agent["XFLOW_NODE_IP"] == "10.0.0.77"
    assert agent["VROUTER_MODULE_OPTIONS"] == "vr_flow_entries=4000000 vr_nexthops=521000"
    assert agent["TCMALLOC_HEAP_LIMIT_MB"] == "0"
    assert agent["LOG_LEVEL"] == "SYS_DEBUG"


def test_l3mh_cidr_value_reaches_the_env(ctx, host):
    """tf-charms rendered the literal text `L3MH_CIDR=l3mh_cidr`."""
    options = {"l3mh-cidr": "10.20.0.0/16", "physical-interface": "ens3,ens4"}
    ctx.run(ctx.on.config_changed(), ready_state(options=options))
    for container in ("vrouter-agent", "vrouter-nodemgr", "vrouter-provisioner"):
        assert env(host, container)["L3MH_CIDR"] == "10.20.0.0/16"
    assert env(host, "vrouter-agent")["PHYSICAL_INTERFACE"] == "ens3,ens4"


def test_csn_mode_lists_the_vhost_addresses_of_every_unit(ctx, host):
    members = [
        {"unit": "contrail-agent/0", "address": "192.0.2.0", "data-address": "10.0.0.10"},
        {"unit": "contrail-agent/1", "address": "192.0.2.1", "data-address": "10.0.0.12"},
    ]
    relation = peer(
        members, peers_data={1: {"address": '"192.0.2.1"', "data-address": '"10.0.0.12"'}}
    )
    ctx.run(
        ctx.on.config_changed(),
        ready_state(options={"csn-mode": "tsn"}, relations=[relation, controller(), principal()]),
    )
    agent = env(host, "vrouter-agent")
    assert agent["TSN_AGENT_MODE"] == "tsn"
    assert agent["TSN_NODES"] == "10.0.0.10,10.0.0.12"
    assert env(host, "vrouter-provisioner")["TSN_AGENT_MODE"] == "tsn"


def test_without_csn_mode_peers_do_not_touch_the_containers(ctx, engine, host):
    out = ctx.run(ctx.on.install(), ready_state())
    assert "TSN_NODES" not in env(host, "vrouter-agent")
    (relation,) = out.get_relations("agent-cluster")
    joined = dataclasses.replace(
        relation, peers_data={1: {"address": '"192.0.2.1"', "data-address": '"10.0.0.12"'}}
    )
    writes = engine.io.writes
    out = ctx.run(
        ctx.on.relation_changed(joined, remote_unit=1),
        dataclasses.replace(
            out, relations=[joined, *out.get_relations("contrail-controller"), principal()]
        ),
    )
    assert out.unit_status.name == "active"
    assert engine.io.writes == writes, "a new agent unit re-creates nothing on the others"


# -- the controller and the cluster ---------------------------------------------------------


def test_missing_controller_blocks_and_names_the_fix(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state(relations=[peer(), principal()]))
    assert out.unit_status == testing.BlockedStatus(
        "missing relation: contrail-controller (juju integrate contrail-agent contrail-controller)"
    )
    assert engine.containers == {}


def test_controller_without_addresses_waits(ctx, engine):
    empty = testing.Relation("contrail-controller", remote_app_name="contrail-controller")
    out = ctx.run(
        ctx.on.relation_joined(empty), ready_state(relations=[peer(), empty, principal()])
    )
    assert out.unit_status == testing.WaitingStatus(
        "waiting for contrail-controller to publish its addresses"
    )
    assert engine.containers == {}


def test_controller_without_analytics_waits(ctx, engine):
    relation = controller(analytics_ips=[])
    out = ctx.run(
        ctx.on.relation_changed(relation), ready_state(relations=[peer(), relation, principal()])
    )
    assert out.unit_status == testing.WaitingStatus(
        "waiting for contrail-controller to publish the analytics addresses"
    )
    assert engine.containers == {}


@pytest.mark.parametrize(
    "key, value, named",
    [
        ("controller-ips", "[1", False),  # not JSON: the databag as a whole is refused
        ("controller-ips", '["not-an-ip"]', True),
        ("auth-mode", '"keystone-v9"', True),
        ("kubernetes-clusters", '{"k8s": {"pod-subnets": ["nonsense"]}}', True),
        ("kubernetes-clusters", '["k8s"]', True),
    ],
)
def test_malformed_controller_data_blocks(ctx, engine, key, value, named):
    relation = controller()
    bad = dataclasses.replace(relation, remote_app_data={**relation.remote_app_data, key: value})
    out = ctx.run(ctx.on.relation_changed(bad), ready_state(relations=[peer(), bad, principal()]))
    assert out.unit_status.name == "blocked"
    assert (
        "contrail-controller data from contrail-controller is malformed" in out.unit_status.message
    )
    assert (key in out.unit_status.message) == named
    assert engine.containers == {}


TWO_CLUSTERS = {
    "k8s": K8S,
    "k8s-2": {"pod-subnets": ["10.48.0.0/12"], "api-server": "10.0.0.42", "api-port": 16443},
}


@pytest.mark.parametrize(
    "name, subnets, server",
    [("k8s", "10.32.0.0/12", "10.0.0.41"), ("k8s-2", "10.48.0.0/12", "10.0.0.42")],
)
def test_its_own_cluster_is_matched_exactly(ctx, host, name, subnets, server):
    state = ready_state(
        options={"kubernetes-cluster": name},
        relations=[peer(), controller(TWO_CLUSTERS), principal()],
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status.name == "active"
    agent = env(host, "vrouter-agent")
    assert agent["KUBERNETES_POD_SUBNETS"] == subnets
    assert agent["KUBERNETES_API_SERVER"] == server


@pytest.mark.parametrize("name", ["k8", "k8s-", "k8s-22", "2"])
def test_a_name_that_is_only_part_of_a_cluster_name_blocks(ctx, engine, name):
    state = ready_state(
        options={"kubernetes-cluster": name},
        relations=[peer(), controller(TWO_CLUSTERS), principal()],
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == testing.BlockedStatus(
        f"kubernetes-cluster: contrail-controller knows no cluster '{name}'; it knows k8s, k8s-2"
    )
    assert engine.containers == {}


def test_several_clusters_without_the_option_block_listing_them(ctx, engine):
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(relations=[peer(), controller(TWO_CLUSTERS), principal()]),
    )
    assert out.unit_status == testing.BlockedStatus(
        "kubernetes-cluster: contrail-controller knows several Kubernetes clusters "
        "(k8s, k8s-2); set kubernetes-cluster to this machine's"
    )
    assert engine.containers == {}


def test_the_only_cluster_is_used_without_the_option(ctx, host):
    only = {"blue": {"pod-subnets": ["10.64.0.0/16"], "api-server": None, "api-port": None}}
    ctx.run(
        ctx.on.config_changed(), ready_state(relations=[peer(), controller(only), principal()])
    )
    agent = env(host, "vrouter-agent")
    assert agent["KUBERNETES_POD_SUBNETS"] == "10.64.0.0/16"
    assert "KUBERNETES_API_SERVER" not in agent and "KUBERNETES_API_SECURE_PORT" not in agent


def test_no_cluster_known_yet_waits(ctx, engine):
    out = ctx.run(
        ctx.on.config_changed(), ready_state(relations=[peer(), controller({}), principal()])
    )
    assert out.unit_status == testing.WaitingStatus(
        "waiting for contrail-controller to know a Kubernetes cluster "
        "(relate contrail-kubernetes-master to it)"
    )
    assert engine.containers == {}


def test_every_problem_at_once(ctx):
    out = ctx.run(
        ctx.on.config_changed(),
        testing.State(leader=True, config={}, relations=[peer(), principal()]),
    )
    assert out.unit_status.name == "blocked"
    assert "image-tag: set the Contrail release" in out.unit_status.message
    assert "missing relation: contrail-controller" in out.unit_status.message


# -- config --------------------------------------------------------------------------------


INVALID = [
    ("kubernetes-cluster", "K8S"),
    ("kubernetes-cluster", "k8s cluster"),
    ("physical-interface", "eth0/1"),
    ("physical-interface", "a-name-longer-than-15"),
    ("physical-interface", "ens3,ens3"),
    ("vhost-gateway", "gateway"),
    ("vhost-gateway", "2001:db8::1"),
    ("dpdk-driver", "mlnx"),
    ("dpdk-hugepages", "lots"),
    ("dpdk-hugepages", "150%"),
    ("kernel-hugepages-2m", "-1"),
    ("kernel-hugepages-2m", "1k"),
    ("kernel-hugepages-2m", "99999999"),
    ("kernel-hugepages-1g", "two"),
    ("kernel-hugepages-1g", "5000"),
    ("dpdk-coremask", "0xg"),
    ("dpdk-coremask", "0x0"),
    ("dpdk-service-coremask", "3-1"),
    ("dpdk-ctrl-thread-coremask", "zz"),
    ("dpdk-main-mempool-size", "big"),
    ("dpdk-pmd-txd-size", "0"),
    ("dpdk-pmd-rxd-size", "-5"),
    ("dpdk-rx-ring-sz", "1.5"),
    ("dpdk-tx-ring-sz", "99999999999"),
    ("dpdk-yield-option", "2"),
    ("sriov-physical-interface", "bad/name"),
    ("sriov-numvfs", "eight"),
    ("sriov-numvfs", "0"),
    ("csn-mode", "tsn-forwarding"),
    ("max-vm-flows", "101"),
    ("max-vm-flows", "half"),
    ("l3mh-cidr", "10.20.0.0/33"),
    ("l3mh-cidr", "10.20.0.1"),
    ("xflow-node-ip", "collector"),
    ("vrouter-module-options", "vr_flow_entries=4000000;reboot"),
    ("vrouter-module-options", "install vrouter /bin/sh"),
    ("tcmalloc-heap-limit-mb", "-1"),
    ("tcmalloc-heap-limit-mb", "lots"),
    ("container-cpuset", "0-3;8"),
    ("container-cpuset", "0xzz"),
    ("log-level", "LOUD"),
    ("container-runtime", "podman"),
    ("docker-registry", "a\nb"),
    ("registry-credentials", MALFORMED_SECRET_URI),
    ("http-proxy", "proxy:3128"),
    ("https-proxy", "ftp://proxy"),
    ("no-proxy", "a\nb"),
    ("image-tag", "2011\nL3"),
    ("image-tag", "2011.L3"),
    ("release-line", "R21.4"),
]
# Options that Juju types as booleans, and the Nagios naming that is free text.
NOT_VALIDATED_HERE = {
    "docker-registry-insecure",
    "dpdk",
    "hostname-use-fqdn",
    "dpdk-no-gro",
    "dpdk-no-gso",
    "dpdk-no-mrgbuf",
    "nagios_context",
    "nagios_servicegroups",
}


def test_every_option_has_an_invalid_value_case():
    declared = yaml.safe_load(CHARMCRAFT.read_text())["config"]["options"]
    assert set(declared) - NOT_VALIDATED_HERE == {option for option, _ in INVALID}


@pytest.mark.parametrize("option, value", INVALID)
def test_invalid_option_blocks_naming_it(ctx, engine, machine, option, value, monkeypatch):
    juju_delivers(monkeypatch, value)
    out = ctx.run(ctx.on.config_changed(), ready_state(options={option: value}))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("invalid config: ")
    assert f"{option}:" in out.unit_status.message
    assert engine.containers == {}
    assert not machine.path(SYSCTL_DROP_IN).exists()


@pytest.mark.parametrize(
    "options, names",
    [
        (
            {"sriov-physical-interface": "ens5,ens6", "sriov-numvfs": "8"},
            ("sriov-physical-interface", "sriov-numvfs"),
        ),
        ({"sriov-numvfs": "8"}, ("sriov-physical-interface", "sriov-numvfs")),
        ({"physical-interface": "ens3,ens4"}, ("physical-interface", "l3mh-cidr")),
    ],
)
def test_options_that_go_together_block_naming_both(ctx, engine, options, names):
    out = ctx.run(ctx.on.config_changed(), ready_state(options=options))
    assert out.unit_status.name == "blocked"
    for name in names:
        assert name in out.unit_status.message
    assert engine.containers == {}


def test_container_cpuset_is_validated_and_reported_as_not_applied(ctx, host):
    out = ctx.run(ctx.on.config_changed(), ready_state(options={"container-cpuset": "0x0f"}))
    assert out.unit_status == testing.ActiveStatus(
        "Unit is ready; container-cpuset 0-3 is not applied yet "
        "(no CPU set support in the container engines)"
    )
    for container in ("vrouter-agent", "vrouter-nodemgr", "vrouter-provisioner"):
        assert not any("CPUSET" in key.upper() for key in env(host, container))


def test_a_bridge_as_physical_interface_is_a_warning_not_a_blocker(ctx, engine, machine):
    machine.add_interface("br0", "10.0.0.10", bridge=True)
    out = ctx.run(ctx.on.config_changed(), ready_state(options={"physical-interface": "br0"}))
    assert out.unit_status == testing.ActiveStatus(
        "Unit is ready; physical-interface br0 is a bridge (prefer the NIC or bond under it)"
    )
    assert "vrouter-agent" in engine.status(PROJECT)


def test_the_default_route_on_a_bridge_is_a_warning_too(ctx, machine):
    machine.add_interface("br-ens3", "10.0.0.10", bridge=True)
    machine.write(
        "/proc/net/route", machine.read("/proc/net/route").replace("ens3\t", "br-ens3\t")
    )
    out = ctx.run(ctx.on.config_changed(), ready_state())
    assert out.unit_status.name == "active"
    assert "vhost0 takes over bridge br-ens3 (the default route's)" in out.unit_status.message


def test_unpinned_tag_and_notes_together(ctx, engine, machine):
    # `latest` is master's newest nightly: the R25.1 line, with opensdn-* names.
    for name in ("node-init", "nodemgr", "provisioner", "vrouter-kernel-build-init",
                 "vrouter-agent"):  # fmt: skip
        engine.add_image(f"opensdn/opensdn-{name}:latest", {"version": "nightly"})
    out = ctx.run(
        ctx.on.config_changed(),
        ready_state(options={"image-tag": "latest", "container-cpuset": "2"}),
    )
    assert out.unit_status.message.startswith("Unit is ready (unpinned image tag latest); ")


# -- events ----------------------------------------------------------------------------------


def test_update_status_makes_no_engine_or_host_writes(ctx, engine, machine):
    out = ctx.run(ctx.on.install(), ready_state(options={"kernel-hugepages-2m": "512"}))
    assert out.unit_status.name == "active"
    writes = engine.io.writes
    sysctl = machine.path(SYSCTL_DROP_IN).stat().st_mtime_ns
    runtime = machine.read("/proc/sys/vm/nr_hugepages")
    machine.write("/proc/sys/vm/nr_hugepages", "sentinel\n")
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "active"
    assert engine.io.writes == writes
    assert machine.path(SYSCTL_DROP_IN).stat().st_mtime_ns == sysctl
    assert machine.read("/proc/sys/vm/nr_hugepages") == "sentinel\n" != runtime


def test_a_crashed_agent_is_reported_and_not_restarted_by_update_status(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state())
    engine.crash(PROJECT, "vrouter-agent", 1)
    writes = engine.io.writes
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.BlockedStatus("containers exited: vrouter-agent (code 1)")
    assert engine.io.writes == writes


def test_logs_action_lists_the_containers(ctx):
    out = ctx.run(ctx.on.install(), ready_state())
    ctx.run(ctx.on.action("logs"), out)
    assert ctx.action_results is not None
    assert "vrouter-agent running" in ctx.action_results["containers"]


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["peer", "controller", "principal"]))
)
def test_every_relation_order_converges(ctx, engine, order):
    builders = {"peer": peer, "controller": controller, "principal": principal}
    state = ctx.run(ctx.on.install(), testing.State(leader=True, config={"image-tag": TAG}))
    assert state.unit_status.name in ("blocked", "waiting")
    for name in order:
        relation = builders[name]()
        state = dataclasses.replace(state, relations=[*state.relations, relation])
        state = ctx.run(ctx.on.relation_created(relation), state)
        if name != "peer":
            state = ctx.run(ctx.on.relation_joined(state.get_relation(relation.id)), state)
    assert state.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == KERNEL_CONTAINERS


def test_controller_departing_keeps_the_vrouter_running_and_blocks(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state())
    (relation,) = out.get_relations("contrail-controller")
    writes = engine.io.writes
    out = ctx.run(ctx.on.relation_broken(relation), out)
    assert "missing relation: contrail-controller" in out.unit_status.message
    assert engine.io.writes == writes, "the data plane keeps forwarding"
