"""Kernel module helpers on a generated fake /proc, /sys, /lib/modules and /etc tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from contrail_common.host import (
    HostError,
    ModuleLoadError,
    ModuleMemoryError,
    ModuleNotBuiltError,
    kernel_upgraded_without_module,
    load_module,
    module_available,
    module_built_for_running_kernel,
    module_loaded,
    module_options,
    persist_module,
    releases_with_module,
    running_kernel,
)
from contrail_common.hostpaths import HostRoot
from contrail_common.testing import RecordingRunner as Runner
from contrail_common.testing import write_host_file as write

OLD = "6.8.0-45-generic"
NEW = "6.8.0-48-generic"
PROC_MODULES = (
    "vrouter 4718592 1 - Live 0x0000000000000000 (OE)\n"
    "vfio_pci 16384 0 - Live 0x0000000000000000\n"
)


@pytest.fixture
def host(tmp_path: Path) -> HostRoot:
    host = HostRoot(tmp_path)
    write(host, "/proc/sys/kernel/osrelease", f"{NEW}\n")
    write(host, "/proc/modules", "")
    return host


def test_module_loaded_from_sysfs_or_proc_modules(host: HostRoot):
    assert not module_loaded(host, "vrouter")
    write(host, "/proc/modules", PROC_MODULES)
    assert module_loaded(host, "vrouter")
    assert module_loaded(host, "vfio-pci")  # modprobe's - and _ are the same name
    assert not module_loaded(host, "igb_uio")
    host.path("/sys/module/igb_uio").mkdir(parents=True)
    assert module_loaded(host, "igb_uio")


def test_no_proc_modules_means_not_loaded(tmp_path: Path):
    assert not module_loaded(HostRoot(tmp_path), "vrouter")


def test_bad_module_names_are_refused(host: HostRoot):
    with pytest.raises(ValueError, match="invalid kernel module name"):
        module_loaded(host, "../etc")
    with pytest.raises(ValueError, match="invalid kernel module name"):
        persist_module(host, "vrouter/../../x")


def test_kernel_upgrade_detected_when_module_built_for_old_release_only(host: HostRoot):
    assert running_kernel(host) == NEW
    assert not module_built_for_running_kernel(host, "vrouter")
    assert not kernel_upgraded_without_module(host, "vrouter")  # first install, not an upgrade
    write(host, f"/lib/modules/{OLD}/updates/dkms/vrouter.ko", "elf")
    host.path(f"/lib/modules/{NEW}/kernel").mkdir(parents=True)
    assert releases_with_module(host, "vrouter") == [OLD]
    assert kernel_upgraded_without_module(host, "vrouter")
    write(host, f"/lib/modules/{NEW}/updates/dkms/vrouter.ko.zst", "elf")
    assert module_built_for_running_kernel(host, "vrouter")
    assert not kernel_upgraded_without_module(host, "vrouter")


def test_module_available_counts_builtin_and_files(host: HostRoot):
    assert not module_available(host, "vfio-pci")
    write(host, f"/lib/modules/{NEW}/modules.builtin", "kernel/drivers/vfio/pci/vfio-pci.ko\n")
    assert module_available(host, "vfio-pci")
    write(host, f"/lib/modules/{NEW}/kernel/drivers/uio/uio_pci_generic.ko", "elf")
    assert module_available(host, "uio_pci_generic")


def test_load_runs_modprobe_with_options_once(host: HostRoot):
    runner = Runner()
    assert load_module(host, "vrouter", "vr_flow_entries=4000000 vr_oflow_entries=0", runner)
    assert runner.calls == [
        ["modprobe", "vrouter", "vr_flow_entries=4000000", "vr_oflow_entries=0"]
    ]
    write(host, "/proc/modules", PROC_MODULES)
    assert not load_module(host, "vrouter", (), runner)  # already loaded: left alone
    assert len(runner.calls) == 1


def test_load_maps_cannot_allocate_memory_to_a_reboot_hint(host: HostRoot):
    runner = Runner(1, "modprobe: ERROR: could not insert 'vrouter': Cannot allocate memory\n")
    with pytest.raises(ModuleMemoryError) as caught:
        load_module(host, "vrouter", "vr_flow_entries=4000000", runner)
    message = str(caught.value)
    assert message == (
        "cannot load vrouter: memory too fragmented; "
        "reboot the node or lower the vrouter memory options"
    )
    assert caught.value.status_name == "blocked"


@pytest.mark.parametrize(
    ("stderr", "kind", "text"),
    [
        (
            f"modprobe: FATAL: Module vrouter not found in directory /lib/modules/{NEW}",
            ModuleNotBuiltError,
            f"vrouter module not built for kernel {NEW}; waiting for the kernel module build",
        ),
        (
            "modprobe: ERROR: could not insert 'vrouter': Key was rejected by service",
            ModuleLoadError,
            "cannot load vrouter: rejected by Secure Boot; sign the module or disable Secure Boot",
        ),
        (
            "modprobe: ERROR: could not insert 'vrouter': Exec format error",
            ModuleLoadError,
            "cannot load vrouter: built for another kernel; re-run the kernel module build",
        ),
        (
            "modprobe: ERROR: could not insert 'vrouter': Operation not permitted",
            ModuleLoadError,
            "cannot load vrouter: modprobe: ERROR: could not insert 'vrouter': Operation not permitted",
        ),
    ],
)
def test_load_failures_are_typed_status_texts(host, stderr, kind, text):
    with pytest.raises(kind) as caught:
        load_module(host, "vrouter", (), Runner(1, stderr))
    assert str(caught.value) == text


def test_not_built_is_a_waiting_status(host: HostRoot):
    with pytest.raises(ModuleNotBuiltError) as caught:
        load_module(host, "vrouter", (), Runner(1, "modprobe: FATAL: Module vrouter not found"))
    assert caught.value.status_name == "waiting"


def test_missing_modprobe_is_a_host_error(host: HostRoot):
    with pytest.raises(HostError, match="cannot load vrouter: modprobe not found"):
        load_module(host, "vrouter", (), Runner(missing=True))


def test_options_that_would_break_the_config_line_are_refused(host: HostRoot):
    assert module_options("a=1 b=x,y flag") == ["a=1", "b=x,y", "flag"]
    for bad in ("a=1\ninstall vrouter /bin/sh", "a=$(reboot)", "=1", 'a="x y"'):
        with pytest.raises(ValueError, match="invalid kernel module option"):
            load_module(host, "vrouter", [bad], Runner())


def test_persist_writes_both_files_and_reports_changes(host: HostRoot):
    assert persist_module(host, "vrouter", "vr_flow_entries=4000000")
    load = host.path("/etc/modules-load.d/vrouter.conf")
    options = host.path("/etc/modprobe.d/vrouter.conf")
    assert load.read_text().splitlines()[-1] == "vrouter"
    assert options.read_text().splitlines()[-1] == "options vrouter vr_flow_entries=4000000"
    assert load.stat().st_mode & 0o777 == 0o644 and options.stat().st_mode & 0o777 == 0o644
    assert not persist_module(host, "vrouter", ["vr_flow_entries=4000000"])  # unchanged
    assert persist_module(host, "vrouter", "vr_flow_entries=8000000")
    assert "8000000" in options.read_text()
    assert persist_module(host, "vrouter")  # no options: our options file goes
    assert not options.exists() and load.exists()
    assert not persist_module(host, "vrouter")
