"""The vRouter module's version: the one loaded, and the one the last build installed.

The loaded module shows its version in /sys/module/vrouter/version; a module file carries it
as `version=` in its ELF `.modinfo` section, which is what `modinfo -F version` prints. Both
come from MODULE_VERSION(VROUTER_VERSIONID), set by the build (`images/upgrade.yaml`:
loaded-module-version, module-version-macro, module-version-is-build-version). Reading the
section here needs no process and works on a scratch host tree in tests.
"""

from __future__ import annotations

import gzip
import lzma
import struct
from pathlib import Path
from typing import Optional

from ..hostpaths import HostRoot
from . import facts

_ELF_MAGIC = b"\x7fELF"
# Header fields by ELF class: (e_shoff format and offset, offset of e_shentsize/e_shnum/
# e_shstrndx) and, per section header, (sh_name, sh_offset and sh_size formats and offsets).
_HEADER = {1: ("I", 0x20, 0x2E), 2: ("Q", 0x28, 0x3A)}
_SECTION = {1: ("I", 0x10, 0x14), 2: ("Q", 0x18, 0x20)}


class ModuleFileError(ValueError):
    """The file is not a kernel module this reader understands."""


def loaded_version(host: HostRoot) -> Optional[str]:
    """The version of the loaded vrouter module; None when it is not loaded."""
    try:
        return host.path(facts.LOADED_MODULE_VERSION).read_text().strip() or None
    except FileNotFoundError:
        return None


def built_module(host: HostRoot, kernel: str) -> Path:
    return host.path(facts.BUILT_MODULE_PATH.format(kernel=kernel))


def built_version(host: HostRoot, kernel: str) -> Optional[str]:
    """The version of the module the build installed for `kernel`; None when there is none."""
    path = built_module(host, kernel)
    if not path.exists():
        return None
    return file_version(path)


def file_version(path: Path) -> Optional[str]:
    """`version=` of a module file's `.modinfo` (`.ko`, `.ko.xz`, `.ko.gz`)."""
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        data = lzma.decompress(data)
    elif path.name.endswith(".gz"):
        data = gzip.decompress(data)
    for entry in _section(data, b".modinfo").split(b"\0"):
        if entry.startswith(b"version="):
            return entry[len(b"version=") :].decode("utf-8", errors="replace")
    return None


def _section(data: bytes, wanted: bytes) -> bytes:
    if data[:4] != _ELF_MAGIC or data[4] not in _HEADER or data[5] not in (1, 2):
        raise ModuleFileError("not an ELF file")
    order = "<" if data[5] == 1 else ">"
    offset_format, offset_at, sizes_at = _HEADER[data[4]]
    (table,) = struct.unpack_from(order + offset_format, data, offset_at)
    entry_size, count, names_index = struct.unpack_from(order + "HHH", data, sizes_at)
    name_format, start_at, size_at = _SECTION[data[4]]

    def header(index: int) -> tuple[int, int, int]:
        base = table + index * entry_size
        (name,) = struct.unpack_from(order + "I", data, base)
        (start,) = struct.unpack_from(order + name_format, data, base + start_at)
        (size,) = struct.unpack_from(order + name_format, data, base + size_at)
        return name, start, size

    try:
        _, names_start, names_size = header(names_index)
        names = data[names_start : names_start + names_size]
        for index in range(count):
            name, start, size = header(index)
            if names[name : names.find(b"\0", name)] == wanted:
                return data[start : start + size]
    except struct.error:
        raise ModuleFileError("truncated ELF section table") from None
    raise ModuleFileError(f"no {wanted.decode()} section")
