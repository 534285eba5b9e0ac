"""Controller scale benchmark (not a test): contrail-controller-relation-changed with N agents.

Runs the controller charm (ops.testing, in-memory engine) on a ready leader related to one
agent application with 10, 100 and 1000 units, fires relation-changed for one agent unit, and
prints the median hook time per size and the ratio 1000/10. The charm reads application
databags only, so the target is a ratio under 3.

    tox -e bench-scale   (after `python charmcraft-common/prepare.py prepare`)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHARM = REPO / "charms" / "contrail-controller"
sys.path[:0] = [str(CHARM / "lib"), str(CHARM / "src"), str(CHARM / "tests" / "unit")]

import pytest  # noqa: E402
from charm import ContrailControllerCharm  # noqa: E402
from conftest import TAG, VERSION, analytics, image_names, kubernetes, peer  # noqa: E402
from ops import testing  # noqa: E402

from contrail_common.hostpaths import HostRoot  # noqa: E402
from contrail_common.testing import encode, engine_with_images, place_charm  # noqa: E402

SIZES = (10, 100, 1000)
REPEAT = 7


def hook_time(ctx: testing.Context, units: int) -> float:
    agents = testing.Relation(
        "contrail-controller",
        remote_app_name="contrail-agent",
        remote_app_data=encode(unit_type="agent"),
        remote_units_data={
            i: encode(dpdk=False, vhost_address=f"10.9.{i // 250}.{i % 250 + 1}")
            for i in range(units)
        },
    )
    state = testing.State(
        leader=True,
        config={"image-tag": TAG},
        relations=[peer(), analytics(), kubernetes(), agents],
    )
    state = ctx.run(ctx.on.install(), state)  # containers exist: measure the steady state
    event_relation = state.get_relation(agents.id)
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        ctx.run(ctx.on.relation_changed(event_relation, remote_unit=units - 1), state)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    monkeypatch = pytest.MonkeyPatch()
    scratch = Path(__import__("tempfile").mkdtemp(prefix="scale-"))
    engine = engine_with_images(image_names(), VERSION)
    place_charm(monkeypatch, ContrailControllerCharm, engine, HostRoot(scratch), ["10.0.0.10"])
    ctx = testing.Context(ContrailControllerCharm)
    results = {units: hook_time(ctx, units) for units in SIZES}
    print("contrail-controller-relation-changed, median of", REPEAT, "runs")
    for units, seconds in results.items():
        print(f"  {units:>5} agent units: {seconds * 1000:8.1f} ms")
    print(f"  ratio 1000/10: {results[1000] / results[10]:.2f} (target < 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
