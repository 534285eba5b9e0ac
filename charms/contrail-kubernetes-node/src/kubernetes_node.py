"""The CNI workload of a Kubernetes node: its inputs, the cni-init container, the CNI config.

Nothing here imports ops: the charm reads relations and host facts into `NodeInputs`, and this
module turns them into the one-shot `cni-init` container (which installs the `contrail-k8s-cni`
binary into /opt/cni/bin) and the CNI network config the charm renders itself.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from contrail_common.addresses import parse_network
from contrail_common.config import WorkloadConfig
from contrail_common.containers import Mount
from contrail_common.rendering import render_file, template_environment
from contrail_common.services import Service, join

IMAGE = "kubernetes-cni-init"
VERSION_IMAGE = IMAGE
ROLE = "cni"

# The basename published as `cni-conf-file`. containerd's CRI plugin uses the first
# .conf/.conflist/.json of /etc/cni/net.d by name (containerd/go-cni@
# 3dbce1ddff6e2f62ce46f00d69637249efb6069d:opts.go, loadFromConfDir). This name sorts after the
# 01-default.<ext> link that Charmed Kubernetes' control plane points at its default-cni's file,
# so that option decides there, and before the file of every CNI Charmed Kubernetes ships
# (01-kube-ovn, 05-cilium, 10-calico, 10-flannel) and the 10-contrail.conf of the cni-init image,
# so Contrail is the network on a worker, which gets no usable link (tests/unit/test_cni_order.py
# names the sources). Contrail's CNI binary reads the first `*contrail.conf`: this one.
CNI_CONF_NAME = "01-juniper-contrail.conf"
CNI_CONF_DIR = "/etc/cni/net.d"
CNI_CONF_PATH = f"{CNI_CONF_DIR}/{CNI_CONF_NAME}"
# What earlier releases of this charm named it (01-contrail sorts before 01-default).
OLD_CNI_CONF_NAMES = ("01-contrail.conf",)
# What the cni-init image writes on every run (its own, older format); removed with the unit.
IMAGE_CNI_CONF_PATH = "/etc/cni/net.d/10-contrail.conf"
CNI_BINARY_PATH = "/opt/cni/bin/contrail-k8s-cni"

# Where the vRouter agent listens for the CNI: on the node itself in the standard topology.
LOCAL_VROUTER_IP = "127.0.0.1"
VROUTER_PORT = 9091

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CNI_CONF_TEMPLATE = "cni.conf.j2"

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


class KubernetesNodeConfig(WorkloadConfig):
    """The shared workload options and nothing else (no cluster size, no control network)."""


@dataclass
class NodeInputs:
    """What the node learns from contrail-kubernetes-master, its principal and the host."""

    cluster_name: str = ""
    pod_subnets: list[str] = field(default_factory=list)
    nested_mode: bool = False
    nested_vip: str = ""
    nested_port: int = VROUTER_PORT
    # sha256 of the principal's root kubeconfig: a new value re-runs cni-init.
    kubeconfig_hash: str = ""
    # From kubernetes-control-plane only (workers do not send it).
    service_cidrs: list[str] = field(default_factory=list)
    # Nested mode: the VM interface the pods' MACVLAN sub-interfaces hang off.
    parent_interface: str = ""

    @property
    def cidr(self) -> Optional[str]:
        """The `cidr` published to the principal: the pod subnets, None until known."""
        return join(self.pod_subnets) or None

    @property
    def vrouter_ip(self) -> str:
        return self.nested_vip if self.nested_mode else LOCAL_VROUTER_IP

    @property
    def vrouter_port(self) -> int:
        return self.nested_port if self.nested_mode else VROUTER_PORT


def services(config: KubernetesNodeConfig, inputs: NodeInputs) -> list[Service]:
    """The one-shot cni-init container; its env changes (a new kubeconfig too) re-run it."""
    env = {
        "LOG_LEVEL": config.log_level,
        "KUBERNETES_CLUSTER_NAME": inputs.cluster_name,
        # What the image puts into its own 10-contrail.conf (ours, CNI_CONF_NAME, wins).
        "KUBERNETES_CNI_META_PLUGIN": "multus",
        "KUBECONFIG_HASH": inputs.kubeconfig_hash,
    }
    if inputs.nested_mode:
        env.update(
            {
                "KUBEMANAGER_NESTED_MODE": "1",
                # Spelled as Contrail's images read it.
                "KUBERNESTES_NESTED_VROUTER_VIP": inputs.nested_vip,
                "VROUTER_PORT": str(inputs.nested_port),
            }
        )
    mounts = (
        Mount(source="/etc/cni", target="/host/etc_cni"),
        Mount(source="/opt/cni/bin", target="/host/opt_cni_bin"),
        Mount(source="/var/lib/contrail", target="/var/lib/contrail"),
        Mount(source="/var/log/contrail/cni", target="/var/log/contrail/cni"),
    )
    return [Service("cni-init", IMAGE, ROLE, env, mounts=mounts, one_shot=True)]


def cni_conf_context(inputs: NodeInputs) -> dict[str, object]:
    return {
        "cluster_name": inputs.cluster_name,
        "nested": inputs.nested_mode,
        "parent_interface": inputs.parent_interface,
        "vrouter_ip": inputs.vrouter_ip,
        "vrouter_port": inputs.vrouter_port,
    }


def render_cni_conf(path: Path, inputs: NodeInputs) -> bool:
    """Write the CNI network config (0644: kubelet and containerd read it); True if changed."""
    templates = template_environment(TEMPLATES)
    return render_file(templates, CNI_CONF_TEMPLATE, cni_conf_context(inputs), path, mode=0o644)


def old_cni_confs_to_remove(conf_dir: Path) -> list[Path]:
    """This charm's files of OLD_CNI_CONF_NAMES in `conf_dir` that no link there points at.

    The control plane re-points its 01-default.<ext> link at our new name in one of its own
    hooks, and a dangling link makes containerd refuse the whole directory (loadFromConfDir
    fails on a file it cannot read), so a file stays while a link still names it.
    """
    if not conf_dir.is_dir():
        return []
    linked = {Path(os.readlink(entry)).name for entry in conf_dir.iterdir() if entry.is_symlink()}
    return [
        conf_dir / name
        for name in OLD_CNI_CONF_NAMES
        if (conf_dir / name).is_file() and name not in linked
    ]


def parse_cidrs(text: str) -> list[IPNetwork]:
    """`10.152.183.0/24` or a comma list (dual stack); ValueError for anything else, an IPv6
    scope id included."""
    networks = []
    for item in re.split(r"[,\s]+", text.strip()):
        if item:
            networks.append(parse_network(item))
    return networks


def overlaps(pod_subnets: Sequence[str], service_cidrs: Sequence[str]) -> list[tuple[str, str]]:
    """Every (pod subnet, service CIDR) pair that shares addresses."""
    found = []
    for pod in pod_subnets:
        pod_net = ipaddress.ip_network(pod, strict=False)
        for service in service_cidrs:
            service_net = ipaddress.ip_network(service, strict=False)
            if pod_net.version == service_net.version and pod_net.overlaps(service_net):
                found.append((pod, service))
    return found


def endpoint(address: str, port: int) -> str:
    """`10.10.10.5:9091`, `[fd00::5]:9091`."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
