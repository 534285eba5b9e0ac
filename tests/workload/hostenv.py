"""Real container daemons for the workload tests and benchmarks.

Starts, side by side and apart from anything already on the host:
- a Docker Engine (dockerd) with its own socket, data root and exec root, no bridge or iptables;
- a containerd instance with its own config, root, state and socket (CRI disabled, restart monitor
  interval 2 s so restart-policy tests are quick);
- a Docker registry on 127.0.0.1 with htpasswd (bcrypt) auth.

Everything lives under one run directory, and `stop()` ends exactly the processes `start()`
started (by the PIDs it recorded), after removing the containers it created in its containerd.

Usage as a script: `python tests/workload/hostenv.py install` installs the Debian packages that are
missing (root, apt-get); `start [RUNDIR]` / `stop RUNDIR` manage the daemons by hand.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# Debian package providing each program the workload tests need.
REQUIRED_PROGRAMS = {
    "dockerd": "docker.io",
    "containerd": "containerd",
    "ctr": "containerd",
    "docker-registry": "docker-registry",
    "htpasswd": "apache2-utils",
    "busybox": "busybox-static",
    "logrotate": "logrotate",
}

# Files of packages with no program of their own: the metrics exporter's library, as the
# charms install it on a unit for the system python3.
REQUIRED_FILES = {
    "/usr/lib/python3/dist-packages/prometheus_client/__init__.py": "python3-prometheus-client",
}

CONTAINERD_NAMESPACE = "contrail-test"
REGISTRY_USER = "contrail"
STATE_FILE = "hostenv.json"


@dataclass
class HostServices:
    """Where the started daemons listen, and how to reach the registry."""

    rundir: str
    docker_url: str
    containerd_socket: str
    containerd_namespace: str
    registry: str
    registry_user: str
    registry_password: str
    pids: dict[str, int]


def missing_packages() -> list[str]:
    missing = {pkg for prog, pkg in REQUIRED_PROGRAMS.items() if not _which(prog)}
    missing |= {pkg for path, pkg in REQUIRED_FILES.items() if not os.path.exists(path)}
    return sorted(missing)


def install() -> None:
    """Install the Debian packages whose programs are missing."""
    packages = missing_packages()
    if not packages:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def start(rundir: str | None = None) -> HostServices:
    """Start dockerd, containerd and the registry; return how to reach them."""
    missing = missing_packages()
    if missing:
        raise RuntimeError(f"missing packages {missing}: run `python {__file__} install`")
    # Unix socket paths are limited to 108 bytes: keep the run directory short.
    root = Path(rundir or tempfile.mkdtemp(prefix="ccw-", dir="/tmp"))
    root.mkdir(parents=True, exist_ok=True)
    pids: dict[str, int] = {}
    services = HostServices(
        rundir=str(root),
        docker_url=f"unix://{root}/docker.sock",
        containerd_socket=f"{root}/containerd.sock",
        containerd_namespace=CONTAINERD_NAMESPACE,
        registry=f"127.0.0.1:{_free_port()}",
        registry_user=REGISTRY_USER,
        registry_password=secrets.token_urlsafe(16),
        pids=pids,
    )
    try:
        pids["dockerd"] = _start_dockerd(root)
        _save(services)
        pids["containerd"] = _start_containerd(root)
        _save(services)
        pids["registry"] = _start_registry(root, services)
        _save(services)
        _wait_for_socket(f"{root}/docker.sock", "dockerd", root / "dockerd.log")
        _wait_for_socket(services.containerd_socket, "containerd", root / "containerd.log")
        host, port = services.registry.split(":")
        _wait_for_port(host, int(port), root / "registry.log")
    except Exception:
        stop(str(root))
        raise
    return services


def load(rundir: str) -> HostServices:
    return HostServices(**json.loads((Path(rundir) / STATE_FILE).read_text()))


def stop(rundir: str) -> None:
    """Stop exactly what start() started in this run directory, then remove it."""
    root = Path(rundir)
    state = root / STATE_FILE
    if not state.exists():
        return
    services = load(rundir)
    if "containerd" in services.pids:
        # containerd's shims outlive containerd itself: remove our containers first.
        _remove_containerd_containers(services)
    for name in ("registry", "containerd", "dockerd"):
        pid = services.pids.get(name)
        if pid:
            _terminate(pid)
    _unmount_under(root)
    shutil.rmtree(root, ignore_errors=True)


def _unmount_under(root: Path) -> None:
    """dockerd leaves its `netns/default` nsfs mount behind; a mount point blocks rmtree."""
    prefix = f"{root.resolve()}/"
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    # Field 5 is the mount point, with spaces and the like octal-escaped (proc(5)).
    points = [line.split()[4].encode().decode("unicode_escape") for line in mounts]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", point], capture_output=True)


def _start_dockerd(root: Path) -> int:
    (root / "daemon.json").write_text("{}\n")
    argv = [
        "dockerd",
        f"--host=unix://{root}/docker.sock",
        f"--data-root={root}/docker-data",
        f"--exec-root={root}/docker-exec",
        f"--pidfile={root}/docker.pid",
        f"--config-file={root}/daemon.json",
        "--bridge=none",
        "--iptables=false",
        "--ip-masq=false",
        "--log-level=warn",
    ]
    return _spawn(argv, root / "dockerd.log")


def _start_containerd(root: Path) -> int:
    config = root / "containerd.toml"
    config.write_text(
        f"""version = 2
root = "{root}/containerd-root"
state = "{root}/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{root}/containerd.sock"

[ttrpc]
  address = "{root}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/containerd-opt"

[plugins."io.containerd.internal.v1.restart"]
  interval = "2s"
"""
    )
    return _spawn(
        ["containerd", f"--config={config}", "--log-level=warn"], root / "containerd.log"
    )


def _start_registry(root: Path, services: HostServices) -> int:
    htpasswd = subprocess.run(
        ["htpasswd", "-iBn", services.registry_user],
        input=services.registry_password,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    passwd_file = root / "htpasswd"
    passwd_file.write_text(htpasswd)
    passwd_file.chmod(0o600)
    config = root / "registry.yml"
    config.write_text(
        json.dumps(
            {
                "version": 0.1,
                "log": {"level": "warn"},
                "storage": {
                    "filesystem": {"rootdirectory": f"{root}/registry-data"},
                    "delete": {"enabled": True},
                },
                "http": {"addr": services.registry, "secret": secrets.token_hex(16)},
                "auth": {"htpasswd": {"realm": "contrail-test", "path": str(passwd_file)}},
            }
        )
    )
    return _spawn(["docker-registry", "serve", str(config)], root / "registry.log")


def _remove_containerd_containers(services: HostServices) -> None:
    base = ["ctr", "--address", services.containerd_socket, "--namespace"]
    base.append(services.containerd_namespace)
    listed = subprocess.run([*base, "containers", "ls", "-q"], capture_output=True, text=True)
    for container_id in listed.stdout.split():
        subprocess.run(
            [*base, "tasks", "kill", "-s", "SIGKILL", container_id], capture_output=True
        )
        for _ in range(50):
            gone = subprocess.run([*base, "tasks", "delete", container_id], capture_output=True)
            if gone.returncode == 0 or b"not found" in gone.stderr:
                break
            time.sleep(0.1)
        subprocess.run([*base, "containers", "delete", container_id], capture_output=True)


def _spawn(argv: list[str], log: Path) -> int:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return proc.pid


def _terminate(pid: int, timeout: float = 20.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = 0 if _alive(pid) else pid
        if finished:
            return
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _wait_for_socket(path: str, name: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with socket.socket(socket.AF_UNIX) as sock:
                try:
                    sock.connect(path)
                    return
                except OSError:
                    pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start; last log lines:\n{_tail(log)}")


def _wait_for_port(host: str, port: int, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"registry did not start; last log lines:\n{_tail(log)}")


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _which(program: str) -> str | None:
    return shutil.which(program, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def _save(services: HostServices) -> None:
    path = Path(services.rundir) / STATE_FILE
    path.write_text(json.dumps(asdict(services)))
    path.chmod(0o600)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "install":
        install()
    elif command == "start":
        print(json.dumps(asdict(start(argv[2] if len(argv) > 2 else None)), indent=2))
    elif command == "stop" and len(argv) > 2:
        stop(argv[2])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
