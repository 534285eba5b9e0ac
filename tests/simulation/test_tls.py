"""TLS across the standard bundle: self-signed-certificates issues, the controller switches.

Every unit of the five Contrail charms that request certificates gets one from the stand-in
issuer; the controller leader turns TLS on once every application holds one, and every charm
renders from that one published decision. The switch is never published mixed: after every
hook, every copy the controller wrote (its peer data and each relation) says the same.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from model import Model, Unit

from contrail_common.envfile import read_env_file
from contrail_common.monitoring.nrpe import PLUGIN_SOURCE
from contrail_common.monitoring.states import state_file
from contrail_common.tls import env as tls_env
from contrail_common.tls import files
from contrail_common.tls.certificate import ca_pem, identity_of_pem

REPO = Path(__file__).resolve().parents[2]
STANDARD = REPO / "bundles" / "k8s-contrail.yaml"
COS = REPO / "bundles" / "overlays" / "cos.yaml"
HA = REPO / "bundles" / "overlays" / "ha.yaml"
CERTIFIED = (
    "contrail-controller",
    "contrail-analytics",
    "contrail-analyticsdb",
    "contrail-agent",
    "contrail-kubernetes-master",
)
ISSUER = "self-signed-certificates"
AGENT_CERTIFICATES = ("contrail-agent:certificates", f"{ISSUER}:certificates")
SWITCH_KEYS = ("ssl-enabled", "ca-fingerprint", "ca-subject")


class WatchedModel(Model):
    """A model that checks, after every hook, that the switch is published the same everywhere."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.switches_seen: set[tuple] = set()

    def run(self, unit, event):
        out = super().run(unit, event)
        published = {
            tuple(json.loads(bag.get(key, "null")) for key in SWITCH_KEYS)
            for (rid, owner), bag in self.app_bags.items()
            if owner == "contrail-controller" and "ssl-enabled" in bag
        }
        assert len(published) <= 1, f"mixed switch after {unit.name}: {published}"
        self.switches_seen |= published
        return out


def not_active(model: Model) -> dict[str, str]:
    return {n: str(s) for n, s in model.statuses().items() if s.name != "active"}


def env_files(unit: Unit) -> dict[str, dict[str, str]]:
    directory = unit.machine.host.path(f"/etc/contrail/{unit.name.replace('/', '-')}")
    return {path.stem: read_env_file(path) for path in sorted(directory.glob("*.env"))}


def containers(unit: Unit) -> dict:
    prefix = f"{unit.name.replace('/', '-')}-"
    return {
        cid.removeprefix(prefix): c for cid, c in unit.machine.engine.containers.items()
        if cid.startswith(prefix)
    }  # fmt: skip


def published_switch(model: Model) -> dict[str, Any]:
    (controller,) = [u for u in model.apps["contrail-controller"].units if u.leader]
    peer = model.app_bags[(model.peer_ids["contrail-controller"], controller.app)]
    return {key: json.loads(peer[key]) for key in SWITCH_KEYS if key in peer}


def assert_tls_on_everywhere(model: Model) -> None:
    """Every certified unit runs every container its image profile gives TLS, from files its
    issuer's CA verifies; the switch names that CA, which the controller also publishes."""
    issuer = model.issuers[ISSUER].issuer
    switch = published_switch(model)
    assert switch["ssl-enabled"] is True
    ca = x509.load_pem_x509_certificate(issuer.ca_pem.encode())
    assert switch["ca-fingerprint"] == identity_of_pem(issuer.ca_pem).fingerprint
    to_agents = next(
        bag for (rid, owner), bag in model.app_bags.items()
        if owner == "contrail-controller" and "ca-certs" in bag and json.loads(bag["ca-certs"])
    )  # fmt: skip
    assert ca_pem(json.loads(to_agents["ca-certs"])).strip() == issuer.ca_pem.strip()
    for app in CERTIFIED:
        for unit in model.apps[app].units:
            module = unit.name.replace("/", "-")
            held = files.read_bundle(unit.machine.host, module)
            assert held is not None, unit.name
            leaf = x509.load_pem_x509_certificate(held.certificate.encode())
            leaf.verify_directly_issued_by(ca)
            rendered = env_files(unit)
            running = containers(unit)
            assert rendered, unit.name
            for name, env in rendered.items():
                spec = running[name].spec
                profile = tls_env.profile_of(_image_component(spec.image))
                for variable, value in profile.env.items():
                    assert env.get(variable) == value, (unit.name, name, variable)
                mounted = [m.source for m in spec.mounts if m.target == "/etc/contrail/ssl"]
                assert mounted == ([files.module_dir(module)] if profile.mount else []), name
                if profile.mount:
                    assert spec.labels[tls_env.HASH_LABEL] == held.public_hash


def assert_tls_off_everywhere(model: Model) -> None:
    assert published_switch(model)["ssl-enabled"] is False
    for unit in model.units:
        for name, env in env_files(unit).items():
            assert env.get("SSL_ENABLE", "false") == "false", (unit.name, name)
            assert "CASSANDRA_SSL_ENABLE" not in env and "RABBITMQ_USE_SSL" not in env


def _image_component(image: str) -> str:
    """`opensdn/contrail-controller-config-api:R24.1-latest` -> `controller-config-api`."""
    name = image.rsplit("/", 1)[-1].split(":")[0]
    return name.removeprefix("contrail-").removeprefix("opensdn-")


@pytest.mark.parametrize("seed", [None, 1, 2, 3, 4])
def test_the_standard_bundle_converges_to_tls_on_in_any_order(seed):
    model = WatchedModel(STANDARD, seed=seed or 0)
    try:
        model.deploy(shuffle=seed is not None)
        print(f"seed {seed}: {model.hooks} hooks")
        assert not_active(model) == {}, f"seed {seed}"
        assert_tls_on_everywhere(model)
        # Off first, then on with the one CA: never a second CA, never on and back off.
        assert {s[0] for s in model.switches_seen} <= {False, True}
        assert len({s[1] for s in model.switches_seen if s[0]}) == 1
    finally:
        model.close()


def test_a_certificates_relation_removed_turns_tls_off_in_order_and_back_on():
    """on -> off (the agent's relation goes) -> on (it comes back) -> off again."""
    model = WatchedModel(STANDARD)
    try:
        model.deploy()
        assert_tls_on_everywhere(model)
        for _ in range(2):
            model.remove_relation(*AGENT_CERTIFICATES)
            model.update_status()
            assert_tls_off_everywhere(model)
            assert not_active(model) == {
                "contrail-controller/0": "BlockedStatus('TLS off: contrail-agent has no "
                "certificates (juju integrate contrail-agent:certificates "
                "self-signed-certificates)')"
            }
            for unit in model.apps["contrail-agent"].units:
                assert files.read_bundle(unit.machine.host, unit.name.replace("/", "-")) is None
            controller = model.apps["contrail-controller"].units[0]
            assert files.read_bundle(controller.machine.host, "contrail-controller-0") is not None
            model.add_relation(*AGENT_CERTIFICATES)
            model.update_status()
            assert not_active(model) == {}
            assert_tls_on_everywhere(model)
    finally:
        model.close()


def test_three_unit_clusters_converge_to_tls_on_with_the_vip_in_the_controllers_names():
    model = WatchedModel(STANDARD, [HA], seed=5)
    try:
        model.deploy(shuffle=True)
        assert not_active(model) == {}
        assert_tls_on_everywhere(model)
        vip = ipaddress.ip_address("10.0.0.100")  # keepalived's virtual_ip in overlays/ha.yaml
        for unit in model.apps["contrail-controller"].units:
            held = files.read_bundle(unit.machine.host, unit.name.replace("/", "-"))
            assert held is not None
            leaf = x509.load_pem_x509_certificate(held.certificate.encode())
            names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert vip in names.get_values_for_type(x509.IPAddress), unit.name
    finally:
        model.close()


def test_monitoring_keeps_working_with_tls_on():
    """Introspect stays plain (INTROSPECT_SSL_ENABLE=false): the exporters read it over HTTP,
    and every Nagios container check, run as nrpe runs it, passes."""
    model = WatchedModel(STANDARD, [COS])
    try:
        model.deploy()
        assert not_active(model) == {}
        assert_tls_on_everywhere(model)
        for unit in model.units:
            project = unit.name.replace("/", "-")
            service = unit.machine.host.path(
                f"/etc/systemd/system/contrail-exporter-{project}.service"
            )
            assert "https://" not in service.read_text()
            for name, env in env_files(unit).items():
                if env.get("SSL_ENABLE") == "true":
                    assert env["INTROSPECT_SSL_ENABLE"] == "false", (unit.name, name)
            states = unit.machine.host.path(state_file(project))
            for name in containers(unit):
                check = subprocess.run(
                    [sys.executable, str(PLUGIN_SOURCE), "--state-file", str(states),
                     "--container", name],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                assert check.returncode == 0, (unit.name, name, check.stdout)
    finally:
        model.close()
