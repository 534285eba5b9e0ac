"""Host preparation through the charm: hugepages, reboot, kernel module, DPDK, immutables."""

from __future__ import annotations

import dataclasses

import pytest
from agent_testing import (
    GRUB_DROP_IN,
    KERNEL,
    NEW_KERNEL,
    POOL_1G,
    POOL_2M,
    PROJECT,
    SYSCTL_DROP_IN,
    env,
    ready_state,
)
from charm import ContrailAgentCharm
from kernel_testing import FakeKernelBuild
from ops import testing

from contrail_common.containers.spec import HASH_LABEL

DPDK = {
    "dpdk": True,
    "physical-interface": "ens4",
    "dpdk-coremask": "0x3",
    "dpdk-hugepages": "1024",
}
DPDK_CONTAINERS = {
    "node-init",
    "vrouter-nodemgr",
    "vrouter-provisioner",
    "vrouter-kernel-init-dpdk",
    "vrouter-agent-dpdk",
    "vrouter-agent",
}


def container_hashes(engine) -> dict[str, str]:
    return {
        c.spec.name: c.labels[HASH_LABEL]
        for c in engine.containers.values()
        if c.labels.get("contrail-charms.project") == PROJECT
    }


# -- 2 MiB hugepages -----------------------------------------------------------------------


def test_2m_hugepages_are_reserved_by_sysctl_and_given_to_the_agent(ctx, host, machine):
    out = ctx.run(ctx.on.install(), ready_state(options={"kernel-hugepages-2m": "1024"}))
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert "vm.nr_hugepages = 1024" in machine.read(SYSCTL_DROP_IN)
    assert machine.read(f"{POOL_2M}/nr_hugepages") == "1024\n"
    assert env(host, "vrouter-agent")["HUGE_PAGES_2MB"] == "1024"
    assert "HUGE_PAGES_1GB" not in env(host, "vrouter-agent")
    assert ["update-grub"] not in machine.commands


def test_a_2m_shortfall_shows_allocated_of_requested_and_deploys_nothing(ctx, engine, machine):
    machine.capacity_2m = 300
    out = ctx.run(ctx.on.install(), ready_state(options={"kernel-hugepages-2m": "1024"}))
    assert out.unit_status == testing.BlockedStatus(
        "300 of 1024 2 MiB hugepages allocated; reboot or request fewer"
    )
    assert engine.containers == {}
    out = ctx.run(
        ctx.on.config_changed(),
        dataclasses.replace(out, config={**out.config, "kernel-hugepages-2m": "256"}),
    )
    assert out.unit_status.name == "active"
    assert "vm.nr_hugepages = 256" in machine.read(SYSCTL_DROP_IN)


def test_setting_2m_hugepages_back_to_empty_removes_the_drop_in(ctx, machine):
    out = ctx.run(ctx.on.install(), ready_state(options={"kernel-hugepages-2m": "64"}))
    assert machine.path(SYSCTL_DROP_IN).exists()
    ctx.run(
        ctx.on.config_changed(),
        dataclasses.replace(out, config={**out.config, "kernel-hugepages-2m": ""}),
    )
    assert not machine.path(SYSCTL_DROP_IN).exists()


def test_hugepages_in_a_container_without_hugetlb_block_with_the_reason(ctx, engine, machine):
    machine.path("/proc/sys/vm/nr_hugepages").unlink()
    machine.path("/proc/sys/vm").rmdir()
    out = ctx.run(
        ctx.on.install(),
        ready_state(options={"kernel-hugepages-2m": "64"}),
    )
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("cannot set 2 MiB hugepages")
    assert "VM or bare-metal machine with hugetlb support" in out.unit_status.message
    assert engine.containers == {}


# -- 1 GiB hugepages and the reboot ------------------------------------------------------------


REBOOT_MESSAGE = (
    "reboot required: 1 GiB hugepages (2) take effect at boot; "
    "run the reboot action or reboot the machine"
)


def test_1g_hugepages_go_on_the_boot_line_and_block_until_a_reboot(ctx, engine, machine, reboots):
    options = {"kernel-hugepages-1g": "2", "kernel-hugepages-2m": "512"}
    out = ctx.run(ctx.on.install(), ready_state(options=options))
    assert out.unit_status == testing.BlockedStatus(REBOOT_MESSAGE)
    assert engine.containers == {}, "nothing runs on a kernel without its hugepages"
    drop_in = machine.read(GRUB_DROP_IN)
    assert "default_hugepagesz=1G hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=512" in drop_in
    assert machine.commands.count(["update-grub"]) == 1
    assert not machine.path(SYSCTL_DROP_IN).exists()
    assert reboots == [], "never a silent reboot"
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.BlockedStatus(REBOOT_MESSAGE)
    assert machine.commands.count(["update-grub"]) == 1, (
        "update-grub only when the drop-in changes"
    )
    assert reboots == []


def test_reboot_action_schedules_the_reboot_for_the_next_hook(ctx, engine, host, machine, reboots):
    options = {"kernel-hugepages-1g": "2"}
    out = ctx.run(ctx.on.install(), ready_state(options=options))
    out = ctx.run(ctx.on.action("reboot"), out)
    assert ctx.action_results is not None
    assert ctx.action_results["result"].startswith("reboot scheduled")
    assert reboots == [], "Juju refuses juju-reboot inside an action"
    assert out.unit_status == testing.BlockedStatus(f"{REBOOT_MESSAGE} (reboot scheduled)")
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.BlockedStatus(REBOOT_MESSAGE)  # until the machine is down
    assert reboots == [False], "juju-reboot after the hook completes"
    out = ctx.run(ctx.on.update_status(), out)
    assert reboots == [False], "one reboot per request"
    # The machine comes back with the pages on its boot line; Juju runs start.
    machine.boot(KERNEL, "default_hugepagesz=1G hugepagesz=1G hugepages=2")
    machine.set_pool(POOL_1G, 2)
    machine.load_module()
    out = ctx.run(ctx.on.start(), out)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert env(host, "vrouter-agent")["HUGE_PAGES_1GB"] == "2"


def test_reboot_action_fails_when_no_reboot_is_needed(ctx, reboots):
    out = ctx.run(ctx.on.install(), ready_state())
    with pytest.raises(testing.ActionFailed, match="no reboot is needed"):
        ctx.run(ctx.on.action("reboot"), out)
    out = ctx.run(ctx.on.update_status(), out)
    assert reboots == []


def test_reboot_action_refuses_when_the_boot_line_could_not_be_changed(ctx, machine, reboots):
    machine.update_grub = (1, "grub-mkconfig: error: /boot/grub is read-only")
    out = ctx.run(ctx.on.install(), ready_state(options={"kernel-hugepages-1g": "2"}))
    assert out.unit_status == testing.BlockedStatus(
        "1 GiB hugepages not applied: update-grub failed: "
        "grub-mkconfig: error: /boot/grub is read-only"
    )
    assert not machine.path(GRUB_DROP_IN).exists(), "the drop-in is rolled back to retry"
    with pytest.raises(
        testing.ActionFailed, match="a reboot would not help: 1 GiB hugepages not applied"
    ):
        ctx.run(ctx.on.action("reboot"), out)
    machine.update_grub = (0, "")
    out = ctx.run(ctx.on.config_changed(), out)
    assert out.unit_status == testing.BlockedStatus(REBOOT_MESSAGE)


def test_a_cpu_without_1g_pages_blocks(ctx, engine, machine):
    for name in ("nr_hugepages", "free_hugepages"):
        machine.path(f"{POOL_1G}/{name}").unlink()
    machine.path(POOL_1G).rmdir()
    out = ctx.run(ctx.on.install(), ready_state(options={"kernel-hugepages-1g": "2"}))
    assert out.unit_status == testing.BlockedStatus(
        "this CPU has no 1 GiB page support (pdpe1gb); use 2 MiB hugepages"
    )
    assert engine.containers == {}


def test_fewer_1g_pages_than_booted_with_is_a_shortfall(ctx, machine):
    machine.boot(KERNEL, "default_hugepagesz=1G hugepagesz=1G hugepages=2")
    machine.set_pool(POOL_1G, 1)
    machine.load_module()
    out = ctx.run(ctx.on.install(), ready_state(options={"kernel-hugepages-1g": "2"}))
    assert out.unit_status == testing.BlockedStatus(
        "1 of 2 1 GiB hugepages allocated; request fewer"
    )


# -- the kernel module -----------------------------------------------------------------------


def test_until_the_module_is_loaded_the_unit_waits(ctx, engine, machine):
    machine.unload_module()
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.WaitingStatus("vrouter kernel module not loaded yet")
    assert "vrouter-agent" in engine.status(PROJECT)
    machine.load_module()
    assert ctx.run(ctx.on.update_status(), out).unit_status.name == "active"


def test_a_kernel_upgrade_recreates_only_the_kernel_init_container(
    ctx, engine, host, machine, monkeypatch
):
    build = FakeKernelBuild(engine, machine)
    monkeypatch.setattr(ContrailAgentCharm, "sleep", lambda _charm, seconds: build(seconds))
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.name == "active"
    before = container_hashes(engine)
    # A new kernel and its headers were installed and booted: no vrouter.ko for it yet.
    machine.write(f"/lib/modules/{NEW_KERNEL}/modules.dep", "")
    machine.install_headers(NEW_KERNEL)
    machine.boot(NEW_KERNEL)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.WaitingStatus(
        f"vrouter kernel module not built for kernel {NEW_KERNEL} yet; "
        "vrouter-kernel-init is building it"
    )
    assert container_hashes(engine) == before, "update-status re-creates nothing"
    out = ctx.run(ctx.on.start(), out)
    after = container_hashes(engine)
    # The agent sat out the build (see test_kernel_preflight) and came back unchanged.
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"vrouter-kernel-init"} and set(after) == set(before)
    assert env(host, "vrouter-kernel-init")["KERNEL_RELEASE"] == NEW_KERNEL
    # The re-created container built the module; the agent loads it.
    assert build.waits == 1
    machine.load_module()
    assert ctx.run(ctx.on.update_status(), out).unit_status == testing.ActiveStatus(
        "Unit is ready"
    )


@pytest.mark.parametrize("container", ["vrouter-kernel-init", "vrouter-agent"])
def test_module_out_of_memory_blocks_with_the_remedy(ctx, engine, machine, container):
    out = ctx.run(ctx.on.install(), ready_state())
    machine.unload_module()
    engine.crash(PROJECT, container, 1, restarting=container == "vrouter-agent")
    engine.containers[f"{PROJECT}-{container}"].output = [
        "INFO: loading vrouter",
        "insmod: ERROR: could not insert module vrouter.ko: Cannot allocate memory",
    ]
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "blocked"
    assert (
        f"vrouter kernel module cannot be loaded ({container}: Cannot allocate memory): memory "
        "is too fragmented; reboot the node, or lower the table sizes in vrouter-module-options"
    ) in out.unit_status.message


def test_other_kernel_init_failures_are_reported_as_exited(ctx, engine, machine):
    out = ctx.run(ctx.on.install(), ready_state())
    machine.unload_module()
    engine.crash(PROJECT, "vrouter-kernel-init", 2)
    engine.containers[f"{PROJECT}-vrouter-kernel-init"].output = ["dkms: build failed"]
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.message == "containers exited: vrouter-kernel-init (code 2) (+1 more)"


# -- DPDK ------------------------------------------------------------------------------------


def test_dpdk_mode_with_a_passing_preflight_becomes_active(ctx, engine, host, machine):
    out = ctx.run(ctx.on.install(), ready_state(options=DPDK))
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert set(engine.status(PROJECT)) == DPDK_CONTAINERS
    assert "vm.nr_hugepages = 1024" in machine.read(SYSCTL_DROP_IN)
    dpdk = env(host, "vrouter-agent-dpdk")
    assert dpdk["AGENT_MODE"] == "dpdk"
    assert dpdk["PHYSICAL_INTERFACE"] == "ens4"
    assert dpdk["DPDK_UIO_DRIVER"] == "uio_pci_generic"
    assert dpdk["CPU_CORE_MASK"] == "0x3"
    assert dpdk["HUGE_PAGES"] == "1024"
    assert "SERVICE_CORE_MASK" not in dpdk and "DPDK_COMMAND_ADDITIONAL_ARGS" not in dpdk
    agent = env(host, "vrouter-agent")
    assert agent["AGENT_MODE"] == "dpdk" and agent["DPDK_UIO_DRIVER"] == "uio_pci_generic"
    assert "VROUTER_MODULE_OPTIONS" not in agent and "HUGE_PAGES_2MB" not in agent
    init = env(host, "vrouter-kernel-init-dpdk")
    assert (init["AGENT_MODE"], init["HUGE_PAGES"]) == ("dpdk", "1024")
    spec = engine.containers[f"{PROJECT}-vrouter-agent-dpdk"].spec
    assert spec.privileged and spec.pid_mode == "host"
    assert {m.target for m in spec.mounts} >= {"/dev", "/var/run", "/lib/modules"}
    (unit,) = [r.local_unit_data for r in out.relations if r.endpoint == "contrail-controller"]
    assert unit["dpdk"] == "true"


def test_dpdk_args_use_ascii_flags_and_unambiguous_masks(ctx, host):
    options = {
        **DPDK,
        "dpdk-coremask": "0-3",
        "dpdk-service-coremask": "1",
        "dpdk-ctrl-thread-coremask": "4,5",
        "dpdk-main-mempool-size": "65536",
        "dpdk-pmd-txd-size": "2048",
        "dpdk-pmd-rxd-size": "2048",
        "dpdk-rx-ring-sz": "4096",
        "dpdk-tx-ring-sz": "4096",
        "dpdk-yield-option": "0",
        "dpdk-no-gro": True,
        "dpdk-no-gso": True,
        "dpdk-no-mrgbuf": True,
    }
    out = ctx.run(ctx.on.install(), ready_state(options=options))
    assert out.unit_status.name == "active"
    dpdk = env(host, "vrouter-agent-dpdk")
    assert dpdk["DPDK_COMMAND_ADDITIONAL_ARGS"] == (
        "--vr_mempool_sz 65536 --dpdk_txd_sz 2048 --dpdk_rxd_sz 2048 "
        "--vr_dpdk_rx_ring_sz 4096 --vr_dpdk_tx_ring_sz 4096 --yield_option 0 "
        "--no-gro --no-gso --no-mrgbuf"
    )
    assert "\u2013" not in host.path(f"/etc/contrail/{PROJECT}/vrouter-agent-dpdk.env").read_text()
    # A bare "1" is a hex mask (CPU 0) for the charm and taskset; the DPDK scripts would read
    # it as CPU 1 for the service mask, so every mask goes out as 0x...
    assert (dpdk["CPU_CORE_MASK"], dpdk["SERVICE_CORE_MASK"], dpdk["DPDK_CTRL_THREAD_MASK"]) == (
        "0xf",
        "0x1",
        "0x30",
    )


def test_dpdk_hugepages_as_a_share_of_ram(ctx, host, machine):
    ctx.run(ctx.on.install(), ready_state(options={**DPDK, "dpdk-hugepages": "25%"}))
    # 25% of 16 GiB in 2 MiB pages
    assert env(host, "vrouter-agent-dpdk")["HUGE_PAGES"] == "2048"
    assert "vm.nr_hugepages = 2048" in machine.read(SYSCTL_DROP_IN)


def test_kernel_hugepage_options_do_not_apply_in_dpdk_mode(ctx, host, machine):
    options = {**DPDK, "kernel-hugepages-1g": "4", "kernel-hugepages-2m": "64"}
    out = ctx.run(ctx.on.install(), ready_state(options=options))
    assert out.unit_status.name == "active"
    assert not machine.path(GRUB_DROP_IN).exists()
    assert "HUGE_PAGES_1GB" not in env(host, "vrouter-agent")


def test_every_dpdk_preflight_failure_is_listed_and_nothing_deploys(ctx, engine, machine):
    machine.capacity_2m = 100
    options = {
        **DPDK,
        "physical-interface": "ens9",
        "dpdk-driver": "igb_uio",
        "dpdk-coremask": "0x300",
        "dpdk-ctrl-thread-coremask": "6-9",
    }
    out = ctx.run(ctx.on.install(), ready_state(options=options))
    assert out.unit_status.name == "blocked"
    message = out.unit_status.message
    for problem in (
        "100 of 1024 2 MiB hugepages allocated; reboot or request fewer",
        "DPDK interface ens9 not found; set physical-interface to a NIC",
        f"DPDK driver igb_uio missing for kernel {KERNEL}; build it (dpdk-kmods) or use uio_pci_generic",
        "dpdk-coremask 0x300 names CPUs 8-9, but only 0-7 are online",
        "dpdk-ctrl-thread-coremask 6-9 names CPUs 8-9, but only 0-7 are online",
        "only 100 of 1024 2 MiB hugepages free for DPDK; lower dpdk-hugepages or reboot to free memory",
    ):
        assert problem in message
    assert engine.containers == {}


def test_dpdk_on_the_only_uplink_or_without_an_interface_blocks(ctx, engine):
    out = ctx.run(ctx.on.install(), ready_state(options={**DPDK, "physical-interface": ""}))
    assert out.unit_status == testing.BlockedStatus(
        "DPDK needs physical-interface set to the data NIC"
    )
    out = ctx.run(ctx.on.install(), ready_state(options={**DPDK, "dpdk-driver": "vfio-pci"}))
    assert "vfio-pci missing for kernel" in out.unit_status.message
    assert "vfio-pci needs an IOMMU" in out.unit_status.message
    assert engine.containers == {}


def test_after_deploy_hugepages_in_use_do_not_fail_the_preflight(ctx, engine, machine):
    out = ctx.run(ctx.on.install(), ready_state(options=DPDK))
    assert out.unit_status.name == "active"
    # DPDK took the NIC (vhost0 now) and its hugepages.
    machine.set_pool(POOL_2M, 1024, free=0)
    machine.add_interface("vhost0", "192.168.16.10")
    writes = engine.io.writes
    out = ctx.run(ctx.on.config_changed(), out)
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert engine.io.writes == writes
    # A coremask naming an offline CPU is still caught, and nothing is re-created.
    out = ctx.run(
        ctx.on.config_changed(),
        dataclasses.replace(out, config={**out.config, "dpdk-coremask": "0x100"}),
    )
    assert out.unit_status == testing.BlockedStatus(
        "dpdk-coremask 0x100 names CPUs 8, but only 0-7 are online"
    )
    assert engine.io.writes == writes


# -- options fixed at deploy -----------------------------------------------------------------


@pytest.mark.parametrize(
    "first, changed, message",
    [
        ({}, DPDK, "dpdk cannot change after deploy: set it back to false (or replace the unit)"),
        (
            DPDK,
            {**DPDK, "dpdk": False},
            "dpdk cannot change after deploy: set it back to true (or replace the unit)",
        ),
        (
            {},
            {"l3mh-cidr": "10.20.0.0/16"},
            "l3mh-cidr cannot change after deploy: set it back to empty (or replace the unit)",
        ),
        (
            {"l3mh-cidr": "10.20.0.0/16"},
            {"l3mh-cidr": "10.30.0.0/16"},
            'l3mh-cidr cannot change after deploy: set it back to "10.20.0.0/16" (or replace the unit)',
        ),
    ],
)
def test_an_option_fixed_at_deploy_blocks_and_nothing_changes(
    ctx, engine, machine, first, changed, message
):
    out = ctx.run(ctx.on.install(), ready_state(options=first))
    assert out.unit_status.name == "active"
    writes = engine.io.writes
    hugepages = machine.read(f"{POOL_2M}/nr_hugepages")
    out = ctx.run(
        ctx.on.config_changed(), ready_state(options=changed, stored_states=out.stored_states)
    )
    assert out.unit_status.name == "blocked"
    assert message in out.unit_status.message
    assert engine.io.writes == writes, "nothing is re-created"
    assert machine.read(f"{POOL_2M}/nr_hugepages") == hugepages, "the host is left alone"
    out = ctx.run(
        ctx.on.config_changed(), ready_state(options=first, stored_states=out.stored_states)
    )
    assert out.unit_status.name == "active"
    assert engine.io.writes == writes


def test_removing_the_unit_removes_the_containers_and_the_boot_settings(ctx, engine, machine):
    options = {"kernel-hugepages-1g": "2", "kernel-hugepages-2m": "512"}
    machine.boot(
        KERNEL, "default_hugepagesz=1G hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=512"
    )
    machine.set_pool(POOL_1G, 2)
    machine.set_pool(POOL_2M, 512)
    machine.load_module()
    out = ctx.run(ctx.on.install(), ready_state(options=options))
    assert out.unit_status.name == "active"
    assert machine.path(GRUB_DROP_IN).exists()
    ctx.run(ctx.on.remove(), out)
    assert engine.status(PROJECT) == {}
    assert not machine.path(GRUB_DROP_IN).exists()
    assert not machine.path(SYSCTL_DROP_IN).exists()
    assert machine.commands.count(["update-grub"]) == 2
    assert machine.read(f"{POOL_1G}/nr_hugepages") == "2\n", "pages in use stay until the reboot"
