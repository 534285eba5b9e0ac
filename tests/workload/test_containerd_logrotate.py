"""containerd's container output files are rotated by logrotate in place, without a restart.

The engine writes the logrotate drop-in; the real logrotate runs it (forced) against a
container that keeps printing, and the shim must go on writing at the start of the truncated
file, not at its old offset.
"""

from __future__ import annotations

import stat
import subprocess

import pytest
from test_engines import spec, wait_for

from contrail_common.containers.spec import container_id

pytestmark = pytest.mark.workload


def test_rotation_keeps_the_container_logging_into_the_truncated_file(
    containerd_engine, images, credentials, tmp_path
):
    engine = containerd_engine
    if engine.inspect_image(images["1"]) is None:
        engine.pull(images["1"], credentials, plain_http=True)
    project = f"r{tmp_path.name[-6:]}".replace("_", "")
    printing = ("sh", "-c", "i=0; while true; do i=$((i+1)); echo line-$i; sleep 0.05; done")
    try:
        engine.apply(project, [spec("chatty", images["1"], command=printing)])
        conf = engine.logrotate_conf
        assert conf is not None
        assert stat.S_IMODE(conf.stat().st_mode) == 0o644
        assert f"{engine.log_dir}/*.log {{" in conf.read_text()
        live = engine.log_dir / f"{container_id(project, 'chatty')}.log"
        wait_for(lambda: live.exists() and live.read_text().count("line-") >= 20)
        result = subprocess.run(
            ["logrotate", "--force", "--state", str(tmp_path / "status"), str(conf)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        rotated = live.with_name(live.name + ".1")
        before = rotated.read_text()
        assert "line-1\n" in before
        wait_for(lambda: live.read_text().count("line-") >= 10)
        after = live.read_bytes()
        assert not after.startswith(b"\0"), "the shim wrote at its old offset (no append mode)"
        numbers = [int(line.split("-")[1]) for line in after.decode().split() if line]
        last_rotated = int(before.split()[-1].split("-")[1])
        assert numbers[0] > last_rotated - 5 and numbers == sorted(numbers)
    finally:
        engine.remove_project(project)
