"""Fixtures: the CNI subordinate on a scratch host tree with an in-memory engine."""

from __future__ import annotations

from typing import Optional

from charm import ContrailKubernetesNodeCharm
from kubernetes_node import CNI_BINARY_PATH, CNI_CONF_PATH, IMAGE
from ops import testing

from contrail_common.hostpaths import HostRoot
from contrail_common.testing import JUJU_UNIT_KEYS, charm_fixtures, encode

TAG = "R24.1-latest"
VERSION = "R24.1-build42"
PROJECT = "contrail-kubernetes-node-0"
MASTER = "contrail-kubernetes-master"
WORKER = "kubernetes-worker"
CONTROL_PLANE = "kubernetes-control-plane"
# A /proc/net/route with a default route via ens3 (metric 100) and a worse one via ens4.
ROUTES = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "ens4\t00000000\t0102A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n"
    "ens3\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "ens3\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
)


def image_names() -> set[str]:
    return {f"opensdn/contrail-{IMAGE}:{TAG}"}


engine, host, scratch_host, ctx = charm_fixtures(
    ContrailKubernetesNodeCharm, image_names, VERSION, ["10.0.3.10"]
)


def principal_data(**keys: str) -> dict[str, str]:
    """A principal's unit databag: Juju's own keys plus plain-string cni keys."""
    data = {
        "egress-subnets": "10.0.3.10/32",
        "ingress-address": "10.0.3.10",
        "private-address": "10.0.3.10",
    }
    data.update({key.replace("_", "-"): value for key, value in keys.items()})
    return data


def cni(
    app: str = WORKER, kubeconfig_hash: Optional[str] = "abc123", **keys: str
) -> testing.SubordinateRelation:
    if kubeconfig_hash is not None:
        keys["kubeconfig_hash"] = kubeconfig_hash
    return testing.SubordinateRelation(
        "cni", remote_app_name=app, remote_unit_data=principal_data(**keys)
    )


def control_plane(
    kubeconfig_hash: Optional[str] = "abc123", service_cidr: str = "10.152.183.0/24"
) -> testing.SubordinateRelation:
    return cni(
        CONTROL_PLANE,
        kubeconfig_hash,
        service_cidr=service_cidr,
        image_registry="rocks.canonical.com:443/cdk",
    )


def master(
    cluster_name: Optional[str] = "k8s",
    pod_subnets: tuple[str, ...] = ("10.32.0.0/12",),
    **fields,
) -> testing.Relation:
    data = encode(cluster_name=cluster_name, pod_subnets=list(pod_subnets), nested_mode=False)
    data.update(encode(**fields))
    return testing.Relation(
        "contrail-kubernetes-config", remote_app_name=MASTER, remote_app_data=data
    )


def nested_master(vip: str = "10.10.10.5", port: int = 9091) -> testing.Relation:
    return master(nested_mode=True, nested_vip=vip, nested_port=port)


def ready_state(**overrides) -> testing.State:
    fields = {"leader": True, "config": {"image-tag": TAG}, "relations": [cni(), master()]}
    fields.update(overrides)
    return testing.State(**fields)


def install_binary(host: HostRoot) -> None:
    """What a successful cni-init run leaves on the host."""
    binary = host.path(CNI_BINARY_PATH)
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.write_bytes(b"\x7fELF")
    binary.chmod(0o755)


def write_routes(host: HostRoot, table: str = ROUTES) -> None:
    route = host.path("/proc/net/route")
    route.parent.mkdir(parents=True, exist_ok=True)
    route.write_text(table)


def conf_path(host: HostRoot):
    return host.path(CNI_CONF_PATH)


def cni_unit_data(state: testing.State) -> list[dict[str, str]]:
    """This unit's plain-string databag on every cni relation (Juju's keys left out)."""
    return [
        {k: v for k, v in relation.local_unit_data.items() if k not in JUJU_UNIT_KEYS}
        for relation in state.relations
        if relation.endpoint == "cni"
    ]
