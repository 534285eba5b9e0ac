"""A unit's certificate files on the host, where its containers read them.

Each unit writes under `/etc/contrail/ssl/<module>/` (its own directory: the agent and
kubernetes-master units of one machine do not share files), in the layout every image expects
at `/etc/contrail/ssl` (the `SERVER_*` defaults of common.sh, the sandesh defaults), and that
directory is mounted there. Every write is atomic, and a file is rewritten only when its
content changes, so the content hash decides which containers are re-created.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from ..hostpaths import HostRoot
from .certificate import CertificateBundle

SSL_ROOT = "/etc/contrail/ssl"
CA_FILE = "certs/ca-cert.pem"
CERT_FILE = "certs/server.pem"
KEY_FILE = "private/server-privkey.pem"
# The `contrail` group of the images (CONTRAIL_GID, general-base/Dockerfile). Every service
# user of the images is in it, so the key can be group-readable and nothing more.
CONTAINER_GROUP = 1999

_PUBLIC = 0o644
_KEY = 0o640
_PRIVATE_DIR = 0o750


def module_dir(module: str) -> str:
    """The host path of a module's directory (what its containers mount at /etc/contrail/ssl)."""
    if not module or "/" in module or module.startswith("."):
        raise ValueError(f"module name {module!r} must be one path component")
    return f"{SSL_ROOT}/{module}"


def read_bundle(host: HostRoot, module: str) -> Optional[CertificateBundle]:
    """The files as they are now; None unless all three are there."""
    base = host.path(module_dir(module))
    try:
        return CertificateBundle(
            certificate=(base / CERT_FILE).read_text(),
            ca=(base / CA_FILE).read_text(),
            key=(base / KEY_FILE).read_text(),
        )
    except FileNotFoundError:
        return None


def write_bundle(
    host: HostRoot, module: str, files: CertificateBundle, group: int = CONTAINER_GROUP
) -> bool:
    """Make the files hold `files`; return whether any content changed.

    The CA and certificate go first and the key last: an image's wait for the key file is the
    sign that the rest is there.
    """
    base = host.path(module_dir(module))
    _directory(base, 0o755, None)
    _directory(base / "certs", 0o755, None)
    _directory(base / "private", _PRIVATE_DIR, group)
    changed = _write(base / CA_FILE, files.ca, _PUBLIC, None)
    changed = _write(base / CERT_FILE, files.certificate, _PUBLIC, None) or changed
    return _write(base / KEY_FILE, files.key, _KEY, group) or changed


def remove_bundle(host: HostRoot, module: str) -> bool:
    """Remove the module's directory; return whether there was one."""
    base = host.path(module_dir(module))
    if not base.exists():
        return False
    shutil.rmtree(base)
    return True


def _directory(path: Path, mode: int, group: Optional[int]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    if group is not None and _may_chown(group):
        os.chown(path, -1, group)


def _may_chown(group: int) -> bool:
    """Only root gives files to another group. Juju runs every hook as root; a rehearsal or a
    test run by a user leaves the group as it is (the mode still keeps others out)."""
    return os.geteuid() == 0 or group in os.getgroups()


def _write(path: Path, content: str, mode: int, group: Optional[int]) -> bool:
    """Atomically write `content` with `mode` (and `group`) from the start; an unchanged file is
    left as it is apart from its mode, because the images' entrypoints chown what they mount."""
    data = content.encode()
    if path.exists() and path.read_bytes() == data:
        if path.stat().st_mode & 0o7777 != mode:
            os.chmod(path, mode)
        return False
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, mode)
        if group is not None and _may_chown(group):
            os.fchown(descriptor, -1, group)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
