"""What the simulated machines hold: a scratch host tree each, an in-memory engine each, and the
facts the Charmed Kubernetes charms (not simulated) leave on them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from contrail_common.containers.images import split_reference
from contrail_common.containers.memory_engine import MemoryEngine
from contrail_common.hostpaths import HostRoot
from contrail_common.testing import write_host_file

# Ubuntu 22.04's GA kernel, the one the standard bundle's release line (R24.1) builds for.
KERNEL = "5.15.0-91-generic"
K8S_MACHINE_APPS = ("kubernetes-control-plane", "kubernetes-worker")
# Where both Charmed Kubernetes charms write root's kubeconfig (ROOT_KUBECONFIG[_PATH] in
# charmed-kubernetes/charm-kubernetes-{control-plane,worker} release_1.31).
KUBECONFIG = "/root/.kube/config"


class RegistryEngine(MemoryEngine):
    """An engine whose registry serves every image, labelled with its tag as the version."""

    def _pull(self, image, credentials, plain_http):
        self.io.writes += 1
        self.images[image] = {"version": split_reference(image)[1]}


@dataclass
class Machine:
    """One machine of the model, with the tree and engine its units share."""

    name: str
    address: str
    root: Path
    # What `hostname` prints; Juju names machines juju-<model uuid prefix>-<machine number>.
    hostname: str
    apps: set[str] = field(default_factory=set)
    engine: RegistryEngine = field(default_factory=RegistryEngine)

    @property
    def fqdn(self) -> str:
        """As on Juju's LXD cloud, where machines resolve as <hostname>.lxd."""
        return f"{self.hostname}.lxd"

    @property
    def host(self) -> HostRoot:
        return HostRoot(self.root)

    def write(self, path: str, text: str = "") -> Path:
        return write_host_file(self.host, path, text)

    def prepare(self, kubeconfig: Optional[str]) -> None:
        """The facts of a freshly booted Ubuntu machine, plus what Charmed Kubernetes put there."""
        interface = "ens3"
        gateway = self.address.rsplit(".", 1)[0] + ".1"
        gateway_hex = bytes(int(octet) for octet in gateway.split("."))[::-1].hex().upper()
        self.write(
            "/proc/net/route",
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            f"{interface}\t00000000\t{gateway_hex}\t0003\t0\t0\t100\t00000000\t0\t0\t0\n",
        )
        self.write(f"/sys/class/net/{interface}/address", "52:54:00:12:34:56\n")
        self.write("/proc/sys/kernel/osrelease", KERNEL + "\n")
        self.write("/proc/cmdline", f"BOOT_IMAGE=/vmlinuz-{KERNEL} root=/dev/vda1 ro\n")
        self.write("/proc/meminfo", "MemTotal:       16384000 kB\nHugepagesize:       2048 kB\n")
        self.write("/proc/modules", "")
        self.write("/sys/devices/system/cpu/online", "0-3\n")
        for size in ("2048kB", "1048576kB"):
            base = f"/sys/kernel/mm/hugepages/hugepages-{size}"
            for name in ("nr_hugepages", "free_hugepages"):
                self.write(f"{base}/{name}", "0\n")
        if self.apps & set(K8S_MACHINE_APPS):
            self._prepare_for_dpdk()
            # The vRouter module as the kernel-init container leaves it, and the CNI binary
            # the cni-init container installs (both containers are simulated by the engine).
            self.write(f"/lib/modules/{KERNEL}/build/Makefile")  # linux-headers-<release>
            self.write(f"/lib/modules/{KERNEL}/updates/dkms/vrouter.ko")
            self.write("/sys/module/vrouter/initstate", "live\n")
            self.write("/proc/modules", "vrouter 512000 1 - Live 0x0000000000000000\n")
            self.write("/opt/cni/bin/contrail-k8s-cni")
        if kubeconfig is not None:
            self.write_kubeconfig(kubeconfig)

    def write_kubeconfig(self, kubeconfig: str) -> None:
        """What both Charmed Kubernetes charms write once their API endpoint is known."""
        if self.apps & set(K8S_MACHINE_APPS):
            self.write(KUBECONFIG, kubeconfig)

    def _prepare_for_dpdk(self) -> None:
        """A second NIC for DPDK (the uplink stays with the kernel), the in-tree UIO driver, and
        a kernel that grants every 2 MiB hugepage asked for: the pool files read back what was
        written to vm.nr_hugepages."""
        self.write("/sys/class/net/ens4/address", "52:54:00:12:34:57\n")
        self.write(f"/lib/modules/{KERNEL}/kernel/drivers/uio/uio_pci_generic.ko")
        requested = self.write("/proc/sys/vm/nr_hugepages", "0\n")
        pool = self.host.path("/sys/kernel/mm/hugepages/hugepages-2048kB")
        for name in ("nr_hugepages", "free_hugepages"):
            (pool / name).unlink()
            (pool / name).symlink_to(requested)


def kubeconfig_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
