"""Kernel modules: loaded or not, built for the running kernel, loading and persistence.

The vRouter module is built by DKMS in the `vrouter-kernel-init` container into
`/lib/modules/<release>/updates/dkms/`. After a kernel upgrade and reboot the running kernel has
no module until that container runs again, which is what `kernel_upgraded_without_module` tells.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..hostpaths import HostRoot
from ..rendering import write_file
from .commands import Runner, run
from .errors import HostError, ModuleLoadError, ModuleMemoryError, ModuleNotBuiltError

_ROOT = HostRoot()
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# `key=value` (values may be comma lists for array parameters) or a bare boolean flag. Nothing
# that could end the modprobe.d line or smuggle in another directive.
_OPTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(=[A-Za-z0-9_.,:+-]+)?")
_MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")  # noble compresses modules
_MANAGED = "# Managed by the contrail charms; changes are overwritten.\n"


def _canonical(name: str) -> str:
    """modprobe treats `-` and `_` alike; /proc/modules and /sys/module use `_`."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid kernel module name {name!r}")
    return name.replace("-", "_")


def module_options(options: str | Sequence[str]) -> list[str]:
    """Module options as a list, from a config string like `vr_flow_entries=4000000 ...`.

    Refuses anything but `key=value` and bare flags, so a value cannot break the modprobe.d file.
    """
    items = options.split() if isinstance(options, str) else list(options)
    for item in items:
        if not _OPTION.fullmatch(item):
            raise ValueError(f"invalid kernel module option {item!r} (expected key=value)")
    return items


def running_kernel(host: HostRoot = _ROOT) -> str:
    """The running kernel's release (`uname -r`)."""
    return host.path("/proc/sys/kernel/osrelease").read_text().strip()


def module_loaded(host: HostRoot = _ROOT, name: str = "vrouter") -> bool:
    """Whether the module is in the running kernel (a built-in one also counts)."""
    canonical = _canonical(name)
    if host.path(f"/sys/module/{canonical}").is_dir():
        return True
    modules = host.path("/proc/modules")
    if not modules.exists():
        return False
    return any(line.split(" ", 1)[0] == canonical for line in modules.read_text().splitlines())


def module_files(host: HostRoot, name: str, release: str) -> list[Path]:
    """The module's files under `/lib/modules/<release>/` (DKMS puts ours in updates/dkms)."""
    canonical = _canonical(name)
    base = host.path(f"/lib/modules/{release}")
    found: list[Path] = []
    # Walk rather than trust modules.dep: a DKMS build that did not run depmod is still a build.
    for directory, _dirs, files in os.walk(base):
        for file in files:
            for suffix in _MODULE_SUFFIXES:
                if file.endswith(suffix) and _canonical_file(file, suffix) == canonical:
                    found.append(Path(directory, file))
    return sorted(found)


def _canonical_file(file: str, suffix: str) -> str:
    return file[: -len(suffix)].replace("-", "_")


def module_built_for_running_kernel(host: HostRoot = _ROOT, name: str = "vrouter") -> bool:
    """Whether a `<name>.ko` exists for the running kernel."""
    return bool(module_files(host, name, running_kernel(host)))


def module_available(host: HostRoot = _ROOT, name: str = "vrouter") -> bool:
    """Whether the module is loaded, built in, or can be loaded from a file."""
    if module_loaded(host, name):
        return True
    release = running_kernel(host)
    builtin = host.path(f"/lib/modules/{release}/modules.builtin")
    if builtin.exists():
        canonical = _canonical(name)
        for line in builtin.read_text().splitlines():
            file = line.rsplit("/", 1)[-1]
            if file.endswith(".ko") and _canonical_file(file, ".ko") == canonical:
                return True
    return bool(module_files(host, name, release))


def releases_with_module(host: HostRoot = _ROOT, name: str = "vrouter") -> list[str]:
    """The kernel releases under /lib/modules that have a built module."""
    base = host.path("/lib/modules")
    if not base.is_dir():
        return []
    releases = (d.name for d in base.iterdir() if d.is_dir())
    return sorted(release for release in releases if module_files(host, name, release))


def kernel_upgraded_without_module(host: HostRoot = _ROOT, name: str = "vrouter") -> bool:
    """True when the module was built for another kernel but not for the running one.

    That is the state after a kernel upgrade and reboot: the charm re-runs the kernel build init
    container. A module never built anywhere is a first install, not an upgrade.
    """
    if module_built_for_running_kernel(host, name):
        return False
    return bool(releases_with_module(host, name))


def load_module(
    host: HostRoot = _ROOT,
    name: str = "vrouter",
    options: str | Sequence[str] = (),
    runner: Runner = subprocess.run,
) -> bool:
    """Load the module with `options` unless already loaded; return whether it was loaded now.

    A loaded module is left alone: reloading vrouter would cut the node's traffic, and new
    options take effect at the next load (persist them with `persist_module`).
    """
    arguments = module_options(options)
    if module_loaded(host, name):
        return False
    try:
        result = run(runner, ["modprobe", name, *arguments], timeout=120)
    except HostError as error:  # modprobe missing or hung: say which module it was for
        raise ModuleLoadError(f"cannot load {name}: {error}") from None
    if result.returncode != 0:
        raise _load_error(host, name, f"{result.stderr or ''}\n{result.stdout or ''}")
    return True


def _load_error(host: HostRoot, name: str, output: str) -> ModuleLoadError:
    """The status-ready error for a failed modprobe, from the kernel's reason in its output."""
    if "Cannot allocate memory" in output:
        # The module allocates large contiguous tables; after long uptime memory is fragmented.
        return ModuleMemoryError(
            f"cannot load {name}: memory too fragmented; "
            f"reboot the node or lower the {name} memory options"
        )
    if "not found in directory" in output or f"Module {name} not found" in output:
        return ModuleNotBuiltError(
            f"{name} module not built for kernel {running_kernel(host)}; "
            "waiting for the kernel module build"
        )
    if "Key was rejected" in output or "Required key not available" in output:
        return ModuleLoadError(
            f"cannot load {name}: rejected by Secure Boot; sign the module or disable Secure Boot"
        )
    if "Exec format error" in output or "Invalid module format" in output:
        return ModuleLoadError(
            f"cannot load {name}: built for another kernel; re-run the kernel module build"
        )
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    detail = lines[-1][:120] if lines else "modprobe failed"
    return ModuleLoadError(f"cannot load {name}: {detail}")


def persist_module(
    host: HostRoot = _ROOT, name: str = "vrouter", options: str | Sequence[str] = ()
) -> bool:
    """Load the module at boot with `options`; return whether a file changed.

    Writes `/etc/modules-load.d/<name>.conf` and, with options, `/etc/modprobe.d/<name>.conf`
    (removed when there are none, since it is ours).
    """
    arguments = module_options(options)
    _canonical(name)  # refuse path tricks before building file names
    load_file = host.path(f"/etc/modules-load.d/{name}.conf")
    changed = write_file(load_file, f"{_MANAGED}{name}\n", 0o644)
    options_file = host.path(f"/etc/modprobe.d/{name}.conf")
    if arguments:
        content = f"{_MANAGED}options {name} {' '.join(arguments)}\n"
        changed |= write_file(options_file, content, 0o644)
    elif options_file.exists():
        options_file.unlink()
        changed = True
    return changed
