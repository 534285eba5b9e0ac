"""Metrics exporter benchmark (not a test): scrape time and memory against the peer count.

Runs the exporter as the charms install it (its own process on 127.0.0.1) over a recorded
state of 21 containers (the controller's) and an introspect port (`fake_introspect`, real
HTTP) listing 10, 100 and 1000 XMPP peers in pages of 100, as a control node with that many
vRouter agents would. Prints the median scrape time, the exporter's resident memory after the
scrapes, and the 1000/10 ratios.

    tox -e bench-exporter
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "lib"), str(REPO / "tests" / "lib")]

from fake_introspect import FakeIntrospect, bgp_neighbors, neighbor  # noqa: E402

from contrail_common.containers.state import ContainerState, ContainerStatus  # noqa: E402
from contrail_common.hostpaths import HostRoot  # noqa: E402
from contrail_common.monitoring import cos, states  # noqa: E402
from contrail_common.testing import RecordingRunner, free_port, scrape_metrics  # noqa: E402

SIZES = (10, 100, 1000)
PAGE = 100
SCRAPES = 20


def pages(peers: int) -> dict[str, str]:
    """The neighbour list in pages of PAGE, linked by next_batch as the control node pages."""
    items = [
        neighbor(f"compute-{i}", f"10.1.{i // 250}.{i % 250 + 1}", "XMPP") for i in range(peers)
    ]
    found = {}
    for start in range(0, peers, PAGE):
        more = start + PAGE < peers
        batch = ("BgpNeighborReqIterate", f"page-{start + PAGE}") if more else ("", "")
        path = (
            "/Snh_BgpNeighborReq" if start == 0 else f"/Snh_BgpNeighborReqIterate?x=page-{start}"
        )
        found[path] = bgp_neighbors(items[start : start + PAGE], batch)
    return found


def scrape(port: int) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as reply:
        reply.read()
    return time.perf_counter() - start


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(root: Path, peers: int) -> tuple[float, float]:
    host = HostRoot(root)
    names = [f"service-{i}" for i in range(21)]
    recorded = {n: ContainerStatus(n, ContainerState.RUNNING) for n in names}
    state_file = states.record_container_states(host, "contrail-controller-0", recorded)
    exporter = host.path(cos.EXPORTER_DIR) / "contrail_exporter.py"
    port = free_port()
    with FakeIntrospect(pages(peers)).running() as fake:
        process = subprocess.Popen(
            [sys.executable, "-E", "-s", str(exporter), "--listen", f"127.0.0.1:{port}",
             "--state-file", str(state_file), "--introspect", f"control={fake.base}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            scrape_metrics(port, process)  # waits until it listens
            times = [scrape(port) for _ in range(SCRAPES)]
            memory = rss_mib(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    return statistics.median(times), memory


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="bench-exporter-"))
    cos.ExporterService(HostRoot(root), "bench/0", "bench-0", RecordingRunner())._install_sources()
    print(f"exporter: 21 containers, XMPP peers in pages of {PAGE}, median of {SCRAPES} scrapes")
    print(f"{'peers':>6}{'scrape':>12}{'memory':>12}")
    results = {}
    for peers in SIZES:
        seconds, memory = measure(root, peers)
        results[peers] = (seconds, memory)
        print(f"{peers:>6}{seconds * 1000:>10.1f}ms{memory:>9.1f}MiB")
    first, last = results[SIZES[0]], results[SIZES[-1]]
    print(
        f"ratio {SIZES[-1]}/{SIZES[0]}: scrape {last[0] / first[0]:.1f}x, memory {last[1] / first[1]:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
