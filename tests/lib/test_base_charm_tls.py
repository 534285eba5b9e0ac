"""What every certified charm inherits from ContrailCharm's TLS wiring, on the probe charm.

The charm suites (charms/*/tests/unit/test_tls.py) cover the switch; here: the names a unit
requests (the VIP keepalived holds for it included), the notes, and removal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from charmlibs.interfaces.tls_certificates import CertificateSigningRequest
from ops import testing

sys.path.insert(0, str(Path(__file__).parent / "probe" / "src"))

from probe_charm import IMAGES, ProbeCharm

from contrail_common.testing import charm_fixtures
from contrail_common.testing_tls import Issuer, certificates, certify, csrs, relation_on
from contrail_common.tls import files

PROJECT = "contrail-probe-0"

engine, host, scratch_host, ctx = charm_fixtures(
    ProbeCharm, lambda: IMAGES, "R24.1-build42", ["10.0.0.10"]
)


def state(*relations: testing.RelationBase) -> testing.State:
    return testing.State(
        leader=True,
        config={"image-tag": "R24.1-latest"},
        relations=[testing.PeerRelation("probe-cluster"), *relations],
    )


def keepalived(address: str = "10.0.0.100", hostname: str = "contrail.maas") -> testing.Relation:
    """keepalived's units on `website`, as plain strings (the http interface)."""
    bag = {"hostname": hostname, "private-address": address, "port": "8082"}
    return testing.Relation("vip", remote_app_name="keepalived", remote_units_data={0: bag})


def test_the_request_carries_the_vip_and_its_host_name(ctx):
    start = state(certificates(), keepalived())
    out = ctx.run(ctx.on.relation_created(relation_on(start, "certificates")), start)
    (csr,) = csrs(out)
    request = CertificateSigningRequest.from_string(csr)
    assert {"192.0.2.0", "10.0.0.100", "127.0.0.1"} <= set(request.sans_ip)
    assert "contrail.maas" in request.sans_dns
    assert "PRIVATE KEY" not in json.dumps(dict(relation_on(out, "certificates").local_unit_data))


def test_waiting_for_the_certificate_is_a_note_while_tls_is_off(ctx, engine):
    start = state(certificates())
    out = ctx.run(ctx.on.relation_created(relation_on(start, "certificates")), start)
    assert out.unit_status == testing.ActiveStatus(
        "Unit is ready; TLS: waiting for a certificate from self-signed-certificates"
    )
    assert f"{PROJECT}-probe-api" in engine.containers


def test_removing_the_unit_removes_its_certificate_files(ctx, host):
    out = certify(ctx, state(certificates()), Issuer())
    assert files.read_bundle(host, PROJECT) is not None
    ctx.run(ctx.on.remove(), out)
    assert not host.path(files.module_dir(PROJECT)).exists()
