"""Whether this machine can build and load the kernel-mode vRouter module (no ops here).

`vrouter-kernel-init` builds `vrouter.ko` with DKMS against the host's `/lib/modules/<release>/
build` and installs it into `/lib/modules/<release>/updates/dkms/` (its entrypoint exits 1 when
that file is missing). The agent then runs `modprobe vrouter` and, when that fails, exits and is
restarted forever. So the agent is started only once the module can be loaded, and the build
only where it can succeed:

- before the build: the running kernel (`uname -r`, never the Ubuntu series) is inside the
  release line's range, and its headers are installed;
- after the build: a module exists for the running kernel, and Secure Boot lockdown or
  signature enforcement, if on, accepts it.

Every problem is a ready status message that names the fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from vrouter import KERNEL_INIT

from contrail_common.containers import ContainerState, ContainerStatus
from contrail_common.host import module_loaded
from contrail_common.host.kernel_module import module_files
from contrail_common.hostpaths import HostRoot
from contrail_common.images.releases import LINES, ReleaseLine, kernel_version

MODULE = "vrouter"
LOCKDOWN = "/sys/kernel/security/lockdown"
SIG_ENFORCE = "/sys/module/module/parameters/sig_enforce"
# The R24.1 and later entrypoints tee their output here (appending, one banner per run); R2011's
# writes only to the container's output. DKMS's own make.log stays inside the container
# (/var/lib/dkms is not mounted), and the entrypoint prints it to its output on failure.
BUILD_LOG = "/var/log/contrail/vrouter-kernel-build-init/console.log"
_RUN_BANNER = "INFO: ==================="
# What the kernel's sign-file appends to a signed module (MODULE_SIG_STRING).
_SIGNATURE = b"~Module signature appended~\n"
# gcc's `file.c:12:5: error: ...` and `fatal error: ...`; make's `*** ... Error 2` and DKMS's
# `Error! Bad return status` only follow them, so the first `error:` says what broke.
_ERROR = re.compile(r"\berror:")
_SOURCE_PATH = re.compile(r"^\S*/(?=[^/\s]+:\d+)")
_MAX_ERROR = 160
_SYMLINK_HOPS = 40


@dataclass
class Preflight:
    """What the kernel-mode datapath may run on this machine, and the statuses saying why not."""

    blocked: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    build: bool = True  # vrouter-kernel-init may run
    agent: bool = True  # vrouter-agent may run (it loads the module)
    module: bool = False  # loaded, or built for the running kernel


def check_kernel(
    host: HostRoot,
    line: ReleaseLine,
    tag: str,
    kernel: str,
    kernel_init: Optional[ContainerStatus],
    container_log: Callable[[], str],
    dpdk_remedy: str = "dpdk=true",
    unit: str = "<unit>",
) -> Preflight:
    """Run every check for the running `kernel` (`uname -r`).

    `kernel_init` is the build container's state (None before it was created) and
    `container_log` reads its output; it is called only when the build failed.
    `dpdk_remedy` is how to switch to DPDK mode, which cannot change once deployed; `unit`
    names the unit in the `logs` action a message suggests.
    """
    result = Preflight()
    version = kernel_version(kernel)
    if version is None or not line.kernel_supported(version):
        result.blocked.append(range_message(line, tag, kernel, dpdk_remedy))
    if not headers_installed(host, kernel):
        result.blocked.append(headers_message(kernel))
    if result.blocked:
        # The build would fail: neither it nor the agent runs.
        result.build = result.agent = False
        return result
    loaded = module_loaded(host, MODULE)
    built = module_files(host, MODULE, kernel)
    result.module = loaded or bool(built)
    if not result.module:
        result.agent = False
        if kernel_init is not None and kernel_init.state == ContainerState.EXITED:
            error = build_error(host, container_log)
            result.blocked.append(build_failed_message(line, kernel, error, dpdk_remedy, unit))
        else:
            result.waiting.append(
                f"vrouter kernel module not built for kernel {kernel} yet; "
                f"{KERNEL_INIT} is building it"
            )
    enforcer = signature_enforcer(host)
    if enforcer and not loaded and not any(module_signed(path) for path in built):
        # The build still runs: an operator can sign what it built.
        result.agent = False
        result.blocked.append(lockdown_message(enforcer, kernel, dpdk_remedy))
    return result


# -- 1. the kernel range ---------------------------------------------------------------------


def range_message(line: ReleaseLine, tag: str, kernel: str, dpdk_remedy: str) -> str:
    version = kernel_version(kernel)
    others = [
        other.name
        for other in LINES.values()
        if other != line and version is not None and other.kernel_supported(version)
    ]
    verb = "supports" if len(others) == 1 else "support"
    hint = f" ({', '.join(others)} {verb} it)" if others else ""
    return (
        f"vRouter kernel module of {tag} (line {line.name}) cannot be built for kernel {kernel} "
        f"(supported: {line.kernel_range}); use an image-tag of another line{hint}, "
        f"a {line.kernel_range} kernel, or {dpdk_remedy}"
    )


# -- 2. the kernel headers -------------------------------------------------------------------


def headers_installed(host: HostRoot, kernel: str) -> bool:
    """Whether `/lib/modules/<kernel>/build` resolves to a directory on the host.

    On Ubuntu `build` is an absolute symlink into /usr/src; it is followed inside the host
    root, so a scratch tree in tests resolves as the real machine does.
    """
    target = _resolve(host, f"/lib/modules/{kernel}/build")
    return target is not None and target.is_dir()


def _resolve(host: HostRoot, host_path: str) -> Optional[Path]:
    path = host.path(host_path)
    for _ in range(_SYMLINK_HOPS):
        if not path.is_symlink():
            return path
        link = os.readlink(path)
        path = host.path(link) if os.path.isabs(link) else path.parent / link
    return None  # a symlink loop


def headers_message(kernel: str) -> str:
    package = f"linux-headers-{kernel}"
    return (
        f"kernel headers missing for {kernel} (/lib/modules/{kernel}/build), which the vRouter "
        f"module build needs: install {package} (sudo apt install {package})"
    )


# -- 3. Secure Boot, lockdown, signature enforcement --------------------------------------------


def signature_enforcer(host: HostRoot) -> Optional[str]:
    """What rejects unsigned modules on this kernel, or None.

    Lockdown shows its modes with the selected one in brackets (`none [integrity]
    confidentiality`); Ubuntu turns it on under Secure Boot.
    """
    try:
        lockdown = host.path(LOCKDOWN).read_text()
    except OSError:
        lockdown = ""  # no lockdown LSM, or securityfs not mounted
    selected = re.search(r"\[(\w+)\]", lockdown)
    if selected and selected.group(1) in ("integrity", "confidentiality"):
        return f"kernel lockdown ({selected.group(1)}, as under Secure Boot)"
    try:
        enforced = host.path(SIG_ENFORCE).read_text().strip() in ("Y", "1")
    except OSError:
        enforced = False
    return "module signature enforcement (module.sig_enforce)" if enforced else None


def module_signed(path: Path) -> bool:
    """Whether an uncompressed module carries an appended signature (compressed: unknown)."""
    if path.suffix != ".ko":
        return False
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() < len(_SIGNATURE):
                return False
            handle.seek(-len(_SIGNATURE), os.SEEK_END)
            return handle.read() == _SIGNATURE
    except OSError:
        return False


def lockdown_message(enforcer: str, kernel: str, dpdk_remedy: str) -> str:
    return (
        f"{enforcer} rejects the unsigned vrouter module that DKMS builds: disable Secure Boot "
        f"(or lockdown), sign /lib/modules/{kernel}/updates/dkms/vrouter.ko with an enrolled "
        f"MOK key (kmodsign), or use {dpdk_remedy}"
    )


# -- 4. after the build ----------------------------------------------------------------------


def build_error(host: HostRoot, container_log: Callable[[], str]) -> Optional[str]:
    """The first `error:` line of the last build: the container's output, else the log file."""
    for read in (container_log, lambda: _last_run(host)):
        try:
            error = first_error(read())
        except OSError:
            continue
        if error:
            return error
    return None


def _last_run(host: HostRoot) -> str:
    text = host.path(BUILD_LOG).read_text(errors="replace")
    start = text.rfind(_RUN_BANNER)
    return text[start:] if start >= 0 else text


def first_error(text: str) -> Optional[str]:
    """The first compiler `error:` line, its source path shortened to the file name."""
    for line in text.splitlines():
        if _ERROR.search(line):
            short = _SOURCE_PATH.sub("", line.strip())
            return short if len(short) <= _MAX_ERROR else short[: _MAX_ERROR - 3] + "..."
    return None


def build_failed_message(
    line: ReleaseLine, kernel: str, error: Optional[str], dpdk_remedy: str, unit: str
) -> str:
    cause = f": {error}" if error else f" (juju run {unit} logs container={KERNEL_INIT})"
    return (
        f"{KERNEL_INIT} built no vrouter.ko for kernel {kernel}{cause}; use an image-tag of "
        f"another line, another kernel (line {line.name}: {line.kernel_range}), or {dpdk_remedy}"
    )
