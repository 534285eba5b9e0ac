"""The vRouter kernel preflight: the running kernel against the release line, headers, lockdown,
the module after the build, and the agent kept out of the containers while any of it fails."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from agent_testing import KERNEL, NEW_KERNEL, PROJECT, TAG, FakeMachine, ready_state
from charm import ContrailAgentCharm
from kernel_preflight import (
    _SIGNATURE,
    check_kernel,
    first_error,
    headers_installed,
    module_signed,
    signature_enforcer,
)
from kernel_testing import (
    BUILD_LOG,
    SIG_ENFORCE,
    FakeKernelBuild,
    boot_without_module,
    lockdown,
    remove_headers,
    remove_module,
    serve,
    sign_module,
)
from ops import testing

from contrail_common.containers import ContainerState, ContainerStatus
from contrail_common.hostpaths import HostRoot
from contrail_common.images.releases import R24_1, R25_1

BASE = {"node-init", "vrouter-nodemgr", "vrouter-provisioner"}
KERNEL_MODE = BASE | {"vrouter-kernel-init", "vrouter-agent"}
HWE = "6.8.0-48-generic"  # 22.04 HWE and 24.04 GA
FOCAL = "5.4.0-150-generic"
GCC_ERROR = (
    "/usr/src/vrouter-R24.1-latest/linux/vr_host_interface.c:1859:9: error: too many "
    "arguments to function 'netif_napi_add'"
)


@pytest.fixture
def build(monkeypatch, engine, machine) -> FakeKernelBuild:
    fake = FakeKernelBuild(engine, machine)
    monkeypatch.setattr(ContrailAgentCharm, "sleep", lambda _charm, seconds: fake(seconds))
    return fake


def running(engine) -> set[str]:
    return set(engine.status(PROJECT))


def on_kernel(machine: FakeMachine, release: str) -> None:
    """Booted into `release` with its headers, the module built and loaded."""
    boot_without_module(machine, release)
    machine.build_module(release)
    machine.load_module()


# -- 1. the running kernel against the release line -------------------------------------------


@pytest.mark.parametrize(
    "tag, kernel",
    [
        ("R2011-latest", FOCAL),
        ("R24.1-latest", FOCAL),
        ("R24.1-latest", KERNEL),
        ("R25.1-latest", KERNEL),
        ("R25.1-2025-12-01", HWE),
    ],
)
def test_a_kernel_inside_the_line_runs_the_vrouter(ctx, engine, machine, tag, kernel):
    serve(engine, tag)
    on_kernel(machine, kernel)
    out = ctx.run(ctx.on.install(), ready_state(options={"image-tag": tag}))
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert running(engine) == KERNEL_MODE


@pytest.mark.parametrize(
    "tag, line, kernel, supported, hint",
    [
        ("R2011-latest", "R2011", KERNEL, "5.4", " (R24.1, R25.1 support it)"),
        ("R2011-2022-11-20", "R2011", HWE, "5.4", " (R25.1 supports it)"),
        ("R24.1-latest", "R24.1", HWE, "5.4 to 6.0", " (R25.1 supports it)"),
        ("R25.1-latest", "R25.1", FOCAL, "5.15 to 6.9", " (R2011, R24.1 support it)"),
        ("R25.1-latest", "R25.1", "6.14.0-27-generic", "5.15 to 6.9", ""),
    ],
)
def test_a_kernel_outside_the_line_blocks_and_runs_no_module_build_nor_agent(
    ctx, engine, machine, build, tag, line, kernel, supported, hint
):
    serve(engine, tag)
    boot_without_module(machine, kernel)
    out = ctx.run(ctx.on.install(), ready_state(options={"image-tag": tag}))
    assert out.unit_status == testing.BlockedStatus(
        f"vRouter kernel module of {tag} (line {line}) cannot be built for kernel {kernel} "
        f"(supported: {supported}); use an image-tag of another line{hint}, "
        f"a {supported} kernel, or dpdk=true"
    )
    assert running(engine) == BASE
    assert build.waits == 0


def test_the_series_does_not_decide_the_kernel_does(ctx, engine, machine):
    # A 22.04 machine on the HWE kernel: /etc/os-release says jammy, uname -r says 6.8.
    machine.write("/etc/os-release", 'VERSION_ID="22.04"\nVERSION_CODENAME=jammy\n')
    boot_without_module(machine, HWE)
    out = ctx.run(ctx.on.install(), ready_state())
    assert f"cannot be built for kernel {HWE}" in out.unit_status.message


def test_the_release_line_option_overrides_the_tag(ctx, engine, machine):
    serve(engine, "my-build-7", "R25.1")
    serve(engine, "my-build-7", "R24.1")
    on_kernel(machine, HWE)
    options = {"image-tag": "my-build-7", "release-line": "R25.1"}
    out = ctx.run(ctx.on.install(), ready_state(options=options))
    assert out.unit_status.name == "active"
    options["release-line"] = "R24.1"
    out = ctx.run(ctx.on.config_changed(), dataclasses.replace(out, config=options))
    assert "of my-build-7 (line R24.1) cannot be built for kernel 6.8" in out.unit_status.message


def test_a_blocked_first_deploy_can_still_switch_to_dpdk(ctx, engine, machine):
    boot_without_module(machine, HWE)
    machine.write(f"/lib/modules/{HWE}/kernel/drivers/uio/uio_pci_generic.ko.zst", "elf")
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.message.endswith("or dpdk=true")
    dpdk = {"image-tag": TAG, "dpdk": True, "physical-interface": "ens4", "dpdk-hugepages": "64"}
    out = ctx.run(ctx.on.config_changed(), dataclasses.replace(out, config=dpdk))
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert "vrouter-agent-dpdk" in running(engine) and "vrouter-kernel-init" not in running(engine)


def test_dpdk_mode_builds_no_module_so_skips_the_module_checks(ctx, engine, machine):
    boot_without_module(machine, HWE, headers=False)
    lockdown(machine, "integrity")
    machine.write(f"/lib/modules/{HWE}/kernel/drivers/uio/uio_pci_generic.ko.zst", "elf")
    dpdk = {"dpdk": True, "physical-interface": "ens4", "dpdk-hugepages": "64"}
    out = ctx.run(ctx.on.install(), ready_state(options=dpdk))
    assert out.unit_status == testing.ActiveStatus("Unit is ready")
    assert {"vrouter-kernel-init-dpdk", "vrouter-agent-dpdk", "vrouter-agent"} <= running(engine)


def test_kernel_problems_are_listed_with_the_missing_relations(ctx, machine):
    boot_without_module(machine, HWE, headers=False)
    state = ready_state()
    state = dataclasses.replace(
        state, relations=[r for r in state.relations if r.endpoint != "contrail-controller"]
    )
    message = ctx.run(ctx.on.install(), state).unit_status.message
    assert "missing relation: contrail-controller" in message
    assert f"cannot be built for kernel {HWE}" in message
    assert f"install linux-headers-{HWE}" in message


# -- 2. headers ---------------------------------------------------------------------------------


def test_missing_headers_block_naming_the_package_and_nothing_builds(ctx, engine, machine, build):
    boot_without_module(machine, NEW_KERNEL, headers=False)
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.BlockedStatus(
        f"kernel headers missing for {NEW_KERNEL} (/lib/modules/{NEW_KERNEL}/build), which the "
        f"vRouter module build needs: install linux-headers-{NEW_KERNEL} "
        f"(sudo apt install linux-headers-{NEW_KERNEL})"
    )
    assert running(engine) == BASE
    # Installed: the next hook builds the module and starts the agent.
    machine.install_headers(NEW_KERNEL)
    out = ctx.run(ctx.on.config_changed(), out)
    assert out.unit_status == testing.WaitingStatus("vrouter kernel module not loaded yet")
    assert running(engine) == KERNEL_MODE and build.waits == 1


def test_headers_removed_after_deploy_leave_a_dangling_link_that_counts_as_missing(
    ctx, engine, machine
):
    out = ctx.run(ctx.on.install(), ready_state())
    remove_headers(machine, KERNEL)
    machine.unload_module()
    assert machine.path(f"/lib/modules/{KERNEL}/build").is_symlink()
    out = ctx.run(ctx.on.config_changed(), out)
    assert f"install linux-headers-{KERNEL}" in out.unit_status.message
    assert running(engine) == BASE, "the agent is removed rather than left restarting"


# -- 3. Secure Boot / lockdown --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["integrity", "confidentiality"])
def test_lockdown_blocks_the_agent_but_lets_the_module_build(ctx, engine, machine, build, mode):
    remove_module(machine, KERNEL)
    lockdown(machine, mode)
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status == testing.BlockedStatus(
        f"kernel lockdown ({mode}, as under Secure Boot) rejects the unsigned vrouter module "
        "that DKMS builds: disable Secure Boot (or lockdown), sign "
        f"/lib/modules/{KERNEL}/updates/dkms/vrouter.ko with an enrolled MOK key (kmodsign), "
        "or use dpdk=true"
    )
    assert running(engine) == BASE | {"vrouter-kernel-init"}
    assert machine.path(f"/lib/modules/{KERNEL}/updates/dkms/vrouter.ko").exists()
    # Once the operator signed what was built, the agent starts.
    sign_module(machine, KERNEL)
    out = ctx.run(ctx.on.config_changed(), out)
    assert running(engine) == KERNEL_MODE
    assert out.unit_status == testing.WaitingStatus("vrouter kernel module not loaded yet")


def test_lockdown_none_and_a_loaded_module_do_not_block(ctx, engine, machine):
    lockdown(machine, "none")
    assert ctx.run(ctx.on.install(), ready_state()).unit_status.name == "active"
    lockdown(machine, "integrity")  # the module was loaded before: the kernel accepted it
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.name == "active"


def test_signature_enforcement_without_lockdown_blocks_too(ctx, engine, machine):
    machine.unload_module()
    machine.write(SIG_ENFORCE, "Y\n")
    out = ctx.run(ctx.on.install(), ready_state())
    assert out.unit_status.message.startswith(
        "module signature enforcement (module.sig_enforce) rejects the unsigned vrouter module"
    )
    assert "vrouter-agent" not in running(engine)


# -- 4. after the build --------------------------------------------------------------------------


def test_the_agent_starts_in_the_hook_that_built_the_module(ctx, engine, machine, build):
    remove_module(machine, KERNEL)
    out = ctx.run(ctx.on.install(), ready_state())
    assert build.waits == 1
    assert running(engine) == KERNEL_MODE
    assert engine.status(PROJECT)["vrouter-kernel-init"].state == ContainerState.EXITED
    assert out.unit_status == testing.WaitingStatus("vrouter kernel module not loaded yet")
    machine.load_module()
    assert ctx.run(ctx.on.update_status(), out).unit_status.name == "active"


def test_a_failed_build_blocks_with_its_first_error_and_no_agent(ctx, engine, machine, build):
    remove_module(machine, KERNEL)
    build.succeeds = False
    build.output = [
        "+ dkms --verbose build -m vrouter -v R24.1-latest",
        "make -d -C . KERNELDIR=/lib/modules/5.15.0-91-generic/build",
        "Considering target file 'vrouter.ko'.",
        GCC_ERROR,
        "/usr/src/vrouter-R24.1-latest/linux/vr_host_interface.c:1870:9: error: second",
        "make[2]: *** [scripts/Makefile.build:288: vr_host_interface.o] Error 1",
        "Error! Bad return status for module build on kernel: 5.15.0-91-generic (x86_64)",
        "ls: cannot access '/lib/modules/5.15.0-91-generic/updates/dkms/vrouter.ko'",
    ]
    out = ctx.run(ctx.on.install(), ready_state())
    assert running(engine) == BASE | {"vrouter-kernel-init"}
    message = out.unit_status.message
    assert out.unit_status.name == "blocked"
    assert (
        f"vrouter-kernel-init built no vrouter.ko for kernel {KERNEL}: vr_host_interface.c:"
        "1859:9: error: too many arguments to function 'netif_napi_add'; use an image-tag of "
        "another line, another kernel (line R24.1: 5.4 to 6.0), or dpdk=true"
    ) in message
    assert "containers exited: vrouter-kernel-init (code 1)" in message
    # update-status reads the same, and starts nothing.
    again = ctx.run(ctx.on.update_status(), out)
    assert again.unit_status == out.unit_status and running(engine) == BASE | {
        "vrouter-kernel-init"
    }


def test_the_error_comes_from_the_last_run_in_the_log_file_when_the_output_has_none(
    ctx, engine, machine, build
):
    remove_module(machine, KERNEL)
    build.succeeds = False
    machine.write(
        BUILD_LOG,
        "INFO: =================== Mon Jan 6 ===================\n"
        "old.c:1:1: error: from an earlier run\n"
        "INFO: =================== Tue Jan 7 ===================\n"
        "INFO: Compiling vrouter kernel module for ubuntu...\n"
        f"{GCC_ERROR}\n",
    )
    out = ctx.run(ctx.on.install(), ready_state())
    assert "built no vrouter.ko for kernel 5.15.0-91-generic: vr_host_interface.c:1859:9" in (
        out.unit_status.message
    )


def test_a_failed_build_without_an_error_line_points_at_its_logs(ctx, engine, machine, build):
    remove_module(machine, KERNEL)
    build.succeeds = False
    build.output = ["ERROR: There is no version specified in /contrail_version file. Exiting..."]
    out = ctx.run(ctx.on.install(), ready_state())
    assert (
        f"vrouter-kernel-init built no vrouter.ko for kernel {KERNEL} (juju run "
        "contrail-agent/0 logs container=vrouter-kernel-init); use an image-tag"
    ) in out.unit_status.message


def test_a_build_longer_than_the_wait_starts_the_agent_at_a_later_hook(
    ctx, engine, machine, build, monkeypatch
):
    monkeypatch.setattr(ContrailAgentCharm, "kernel_build_timeout", 30.0)
    remove_module(machine, KERNEL)
    build.succeeds = None
    out = ctx.run(ctx.on.install(), ready_state())
    assert build.waits == 6  # 30 s in 5 s polls, then the hook ends
    assert out.unit_status == testing.WaitingStatus(
        f"vrouter kernel module not built for kernel {KERNEL} yet; "
        "vrouter-kernel-init is building it"
    )
    assert running(engine) == BASE | {"vrouter-kernel-init"}
    # The build finished meanwhile; the next hook does not wait again and adds the agent.
    build.succeeds = True
    build(0)
    waits = build.waits
    out = ctx.run(ctx.on.config_changed(), out)
    assert build.waits == waits
    assert running(engine) == KERNEL_MODE


# -- 6. a kernel change ---------------------------------------------------------------------------


def test_a_kernel_change_reruns_the_checks_and_rebuilds_before_the_agent(
    ctx, engine, machine, build
):
    out = ctx.run(ctx.on.install(), ready_state())
    agent_before = engine.containers[f"{PROJECT}-vrouter-agent"]
    boot_without_module(machine, NEW_KERNEL)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.WaitingStatus(
        f"vrouter kernel module not built for kernel {NEW_KERNEL} yet; "
        "vrouter-kernel-init is building it"
    )
    assert build.waits == 0, "update-status waits for nothing and starts nothing"
    out = ctx.run(ctx.on.start(), out)  # Juju's hook after the reboot
    assert build.waits == 1
    assert machine.path(f"/lib/modules/{NEW_KERNEL}/updates/dkms/vrouter.ko").exists()
    assert running(engine) == KERNEL_MODE
    assert engine.containers[f"{PROJECT}-vrouter-agent"] is not agent_before, (
        "the agent was taken out while the module was missing"
    )
    machine.load_module()
    assert ctx.run(ctx.on.update_status(), out).unit_status.name == "active"


def test_a_kernel_change_out_of_the_range_removes_the_agent(ctx, engine, machine, build):
    out = ctx.run(ctx.on.install(), ready_state())
    boot_without_module(machine, HWE)
    out = ctx.run(ctx.on.update_status(), out)
    assert f"cannot be built for kernel {HWE}" in out.unit_status.message
    assert running(engine) == KERNEL_MODE, "update-status changes no container"
    out = ctx.run(ctx.on.start(), out)
    assert running(engine) == BASE
    assert out.unit_status.message.endswith("a 5.4 to 6.0 kernel, or dpdk=true on a new unit"), (
        "the running vRouter fixed the mode"
    )
    # Booting back into the supported kernel brings it back.
    on_kernel(machine, KERNEL)
    out = ctx.run(ctx.on.start(), out)
    assert out.unit_status.name == "active" and running(engine) == KERNEL_MODE


# -- the host readers -------------------------------------------------------------------------


def test_first_error_shortens_the_source_path_and_skips_what_is_not_gcc():
    text = "ERROR: no version\nError! Bad return status\nmake: *** Error 2\n" + GCC_ERROR
    assert first_error(text) == (
        "vr_host_interface.c:1859:9: error: too many arguments to function 'netif_napi_add'"
    )
    assert first_error("fatal error: linux/version.h: No such file or directory\n") == (
        "fatal error: linux/version.h: No such file or directory"
    )
    long = first_error("x.c:1:1: error: " + "y" * 300)
    assert long is not None and len(long) == 160 and long.endswith("...")
    assert first_error("all good\n") is None


def test_headers_follow_links_inside_the_host_root(tmp_path: Path):
    host = HostRoot(tmp_path)
    build = host.path("/lib/modules/k/build")
    build.parent.mkdir(parents=True)
    build.symlink_to("/usr/src/linux-headers-k")
    assert not headers_installed(host, "k"), "dangling inside the root"
    host.path("/usr/src/linux-headers-k").mkdir(parents=True)
    assert headers_installed(host, "k")
    build.unlink()
    build.symlink_to("../../../usr/src/linux-headers-k")
    assert headers_installed(host, "k")
    build.unlink()
    build.symlink_to(build)
    assert not headers_installed(host, "k"), "a loop"


def test_lockdown_reads_the_selected_mode(tmp_path: Path):
    host = HostRoot(tmp_path)
    assert signature_enforcer(host) is None
    lockdown_file = host.path("/sys/kernel/security/lockdown")
    lockdown_file.parent.mkdir(parents=True)
    lockdown_file.write_text("[none] integrity confidentiality\n")
    assert signature_enforcer(host) is None
    lockdown_file.write_text("none integrity [confidentiality]\n")
    assert signature_enforcer(host) == "kernel lockdown (confidentiality, as under Secure Boot)"


def test_only_an_uncompressed_module_with_the_marker_counts_as_signed(tmp_path: Path):
    signed, unsigned, compressed = (tmp_path / n for n in ("a.ko", "b.ko", "c.ko.zst"))
    signed.write_bytes(b"elf" + _SIGNATURE)
    unsigned.write_bytes(b"elf")
    compressed.write_bytes(b"elf" + _SIGNATURE)
    assert [module_signed(p) for p in (signed, unsigned, compressed)] == [True, False, False]


def test_an_unparsable_kernel_release_is_out_of_range(tmp_path: Path):
    result = check_kernel(HostRoot(tmp_path), R25_1, "R25.1-latest", "custom", None, str)
    assert not result.build and not result.agent
    assert "cannot be built for kernel custom (supported: 5.15 to 6.9)" in result.blocked[0]


def test_a_running_build_waits_and_an_exited_one_reads_the_log_only_then(tmp_path: Path):
    host = HostRoot(tmp_path)
    FakeMachine(host)  # headers, and a module built for KERNEL
    reads: list[int] = []

    def log() -> str:
        reads.append(1)
        return GCC_ERROR

    release = "5.15.0-100-generic"
    host.path(f"/lib/modules/{release}/build").mkdir(parents=True)
    host.path("/proc/modules").write_text("")
    busy = ContainerStatus("vrouter-kernel-init", ContainerState.RUNNING)
    result = check_kernel(host, R24_1, TAG, release, busy, log)
    assert (result.build, result.agent, result.module, reads) == (True, False, False, [])
    assert result.waiting and not result.blocked
    done = ContainerStatus("vrouter-kernel-init", ContainerState.EXITED, 1)
    result = check_kernel(host, R24_1, TAG, release, done, log)
    assert reads == [1] and "netif_napi_add" in result.blocked[0]
