"""Test helpers: a fake machine (a scratch /proc, /sys, /etc, /lib/modules tree, a fake kernel
hugepage allocator and a fake `ip`/`update-grub`), relation builders and constants.

A module of its own, not conftest, so that test modules import it by a unique name."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from ops import testing
from vrouter import AgentConfig, AgentInputs, services

from contrail_common.base_charm import Cluster
from contrail_common.hostpaths import HostRoot
from contrail_common.testing import encode, read_env_file, write_host_file

TAG = "R24.1-latest"
VERSION = "R24.1-build42"
PROJECT = "contrail-agent-0"
# Ubuntu 22.04's GA kernel, which the R24.1 line's module builds for.
KERNEL = "5.15.0-91-generic"
NEW_KERNEL = "5.15.0-94-generic"
FQDN, SHORT = "node-0.maas", "node-0"
# ens3 carries the default route via 10.0.0.1; ens4 (a data NIC) only its own 192.168.16.0/24.
ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "ens3\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "ens3\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
    "ens4\t0010A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
)
MEMINFO = "MemTotal:       16777216 kB\nMemFree:         8388608 kB\nHugepagesize:       2048 kB\n"
CMDLINE = f"BOOT_IMAGE=/vmlinuz-{KERNEL} root=UUID=1234 ro console=ttyS0\n"
POOL_2M = "/sys/kernel/mm/hugepages/hugepages-2048kB"
POOL_1G = "/sys/kernel/mm/hugepages/hugepages-1048576kB"
SYSCTL_DROP_IN = "/etc/sysctl.d/60-contrail-hugepages.conf"
GRUB_DROP_IN = "/etc/default/grub.d/60-contrail-hugepages.cfg"


def image_names() -> set[str]:
    names = set()
    for dpdk in (False, True):
        config = AgentConfig.load({"image-tag": TAG, "dpdk": dpdk})
        names |= {
            config.image(s.image) for s in services(config, Cluster("", "", [], 1), AgentInputs())
        }
    return names


class FakeMachine:
    """One compute node: 8 CPUs, 16 GiB, ens3 (management, default route) and ens4 (data),
    the running kernel's headers installed, the vrouter module built and loaded for it, no
    hugepages reserved."""

    def __init__(self, host: HostRoot) -> None:
        self.host = host
        self.commands: list[list[str]] = []
        self.addresses = {"ens3": "10.0.0.10", "ens4": "192.168.16.10"}
        self.capacity_2m = 1_000_000  # what the fake kernel can allocate
        self.update_grub = (0, "")
        self.write("/proc/sys/kernel/osrelease", f"{KERNEL}\n")
        self.write("/proc/cmdline", CMDLINE)
        self.write("/proc/meminfo", MEMINFO)
        self.write("/proc/net/route", ROUTE)
        self.write("/proc/sys/vm/nr_hugepages", "0\n")
        self.write("/sys/devices/system/cpu/online", "0-7\n")
        for pool in (POOL_2M, POOL_1G):
            self.write(f"{pool}/nr_hugepages", "0\n")
            self.write(f"{pool}/free_hugepages", "0\n")
        for nic in ("lo", "ens3", "ens4"):
            self.path(f"/sys/class/net/{nic}").mkdir(parents=True, exist_ok=True)
        self.write(f"/lib/modules/{KERNEL}/kernel/drivers/uio/uio_pci_generic.ko.zst", "elf")
        self.install_headers(KERNEL)
        self.build_module(KERNEL)
        self.load_module()

    def path(self, host_path: str) -> Path:
        return self.host.path(host_path)

    def write(self, host_path: str, text: str = "") -> Path:
        return write_host_file(self.host, host_path, text)

    def read(self, host_path: str) -> str:
        return self.path(host_path).read_text()

    # -- the kernel ----------------------------------------------------------------------

    def build_module(self, release: str) -> None:
        self.write(f"/lib/modules/{release}/updates/dkms/vrouter.ko", "elf")

    def install_headers(self, release: str) -> None:
        """As linux-headers-<release> does: `build` is an absolute link into /usr/src."""
        self.write(f"/usr/src/linux-headers-{release}/Makefile", "")
        build = self.path(f"/lib/modules/{release}/build")
        build.parent.mkdir(parents=True, exist_ok=True)
        build.unlink(missing_ok=True)
        build.symlink_to(f"/usr/src/linux-headers-{release}")

    def load_module(self) -> None:
        self.write("/proc/modules", "vrouter 4718592 1 - Live 0x0000000000000000 (OE)\n")

    def unload_module(self) -> None:
        self.write("/proc/modules", "")

    def boot(self, release: str = KERNEL, extra: str = "") -> None:
        """A reboot: the module is unloaded; `extra` words are added to the boot line."""
        self.write("/proc/sys/kernel/osrelease", f"{release}\n")
        self.write("/proc/cmdline", CMDLINE.strip() + (f" {extra}" if extra else "") + "\n")
        self.unload_module()

    def allocate_2m(self, write_path: Path, readback_path: Path, count: int) -> int:
        """The kernel's side of `vm.nr_hugepages = count`: as many as it can find."""
        with open(write_path, "w") as handle:  # fails as the real one does without /proc/sys/vm
            handle.write(f"{count}\n")
        allocated = min(count, self.capacity_2m)
        readback_path.write_text(f"{allocated}\n")
        readback_path.with_name("free_hugepages").write_text(f"{allocated}\n")
        write_path.write_text(f"{allocated}\n")
        return allocated

    def set_pool(self, pool: str, allocated: int, free: int | None = None) -> None:
        self.write(f"{pool}/nr_hugepages", f"{allocated}\n")
        self.write(f"{pool}/free_hugepages", f"{allocated if free is None else free}\n")

    # -- programs ------------------------------------------------------------------------

    def run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert isinstance(argv, list) and "shell" not in kwargs
        self.commands.append(argv)
        if argv[:4] == ["ip", "-json", "address", "show"]:
            name = argv[-1]
            if name not in self.addresses:
                return subprocess.CompletedProcess(argv, 1, "", f'Device "{name}" does not exist.')
            info = [{"family": "inet", "local": self.addresses[name], "scope": "global"}]
            return subprocess.CompletedProcess(
                argv, 0, json.dumps([{"ifname": name, "addr_info": info}]), ""
            )
        if argv == ["update-grub"]:
            code, error = self.update_grub
            return subprocess.CompletedProcess(argv, code, "", error)
        raise AssertionError(f"unexpected host command {argv}")

    def add_interface(self, name: str, address: str | None = None, bridge: bool = False) -> None:
        self.path(f"/sys/class/net/{name}").mkdir(parents=True, exist_ok=True)
        if bridge:
            self.path(f"/sys/class/net/{name}/bridge").mkdir(exist_ok=True)
        if address:
            self.addresses[name] = address


def peer(members: list[dict] | None = None, **kwargs) -> testing.PeerRelation:
    app_data = {} if members is None else {"members": json.dumps(members)}
    return testing.PeerRelation("agent-cluster", local_app_data=app_data, **kwargs)


K8S = {"pod-subnets": ["10.32.0.0/12"], "api-server": "10.0.0.41", "api-port": 6443}


def controller(clusters: dict | None = None, **fields) -> testing.Relation:
    data = encode(
        controller_ips=["10.0.0.1"],
        controller_data_ips=["10.1.0.1"],
        analytics_ips=["10.0.0.21"],
        analyticsdb_ips=["10.0.0.31"],
        auth_mode="rbac",
        ssl_enabled=False,
        kubernetes_clusters={"k8s": K8S} if clusters is None else clusters,
    )
    data.update(encode(**fields))
    return testing.Relation(
        "contrail-controller", remote_app_name="contrail-controller", remote_app_data=data
    )


def principal(name: str = "kubernetes-worker") -> testing.SubordinateRelation:
    return testing.SubordinateRelation("juju-info", remote_app_name=name)


def ready_state(**overrides) -> testing.State:
    config = {"image-tag": TAG, **overrides.pop("options", {})}
    fields = {
        "leader": True,
        "config": config,
        "relations": [peer(), controller(), principal()],
    }
    fields.update(overrides)
    return testing.State(**fields)


def env(host: HostRoot, container: str) -> dict[str, str]:
    return read_env_file(host, PROJECT, container)
