"""Test support for the upgrade code (not used at run time): kernel module files."""

from __future__ import annotations

import struct


def elf_module(version: str) -> bytes:
    """A minimal ELF64 little-endian relocatable with .modinfo and .shstrtab sections, as a
    built vrouter.ko carries its `version=`."""
    modinfo = f"license=GPL\0srcversion=5E8D1F2A\0version={version}\0vermagic=5.15\0".encode()
    names = b"\0.modinfo\0.shstrtab\0"
    header_size, section_size = 64, 64
    modinfo_at = header_size
    names_at = modinfo_at + len(modinfo)
    table_at = names_at + len(names)

    def section(name: int, offset: int, size: int) -> bytes:
        return struct.pack("<IIQQQQIIQQ", name, 1, 0, 0, offset, size, 0, 0, 1, 0)

    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header += struct.pack(
        "<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, table_at, 0, header_size, 0, 0, section_size, 3, 2
    )
    table = bytes(section_size) + section(1, modinfo_at, len(modinfo))
    table += section(10, names_at, len(names))
    return header + modinfo + names + table
