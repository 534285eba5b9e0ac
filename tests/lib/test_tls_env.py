"""TLS env per image from images/tls.yaml: only what each image reads, guarded by the contract."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contrail_common import services
from contrail_common.images import contract
from contrail_common.images.releases import LINES, R24_1
from contrail_common.tls import env as tls_env
from contrail_common.tls.env import HASH_LABEL, TlsMaterial, redis_stunnel, with_tls

ROOT = Path(__file__).parents[2]
ON = TlsMaterial(True, "/etc/contrail/ssl/contrail-controller-0", "0123abcd")


def _images_the_charms_run() -> set[str]:
    known = {image for line in LINES for image in contract._derived(line)["images"]}
    sources = "\n".join(p.read_text() for p in ROOT.glob("charms/*/src/*.py"))
    sources += (ROOT / "lib/contrail_common/services.py").read_text()
    quoted = set(re.findall(r'"([a-z0-9-]+)"', sources))
    return (quoted & known) - {"status"}  # `status` is run by node-init's wrapper, not by us


def test_every_image_the_charms_run_has_a_tls_profile():
    facts = tls_env.load()
    missing = _images_the_charms_run() - set(facts.images)
    assert not missing, f"add to a profile of images/tls.yaml: {sorted(missing)}"
    assert "external-stunnel" in facts.images


@pytest.mark.parametrize("line", sorted(LINES))
def test_every_rendered_variable_is_read_by_its_image_on_every_line(line):
    facts = tls_env.load()
    built = contract._derived(line)["images"]
    for image, profile in facts.images.items():
        if image not in built:
            continue
        reads = contract.image_reads(line, image)
        unread = [v for v in facts.profiles[profile].env if not reads.reads(v)]
        assert not unread, f"{line} {image} does not read {unread}"


def test_off_changes_nothing():
    rendered = [services.node_init({"LOG_LEVEL": "SYS_NOTICE"}, "r/contrail-status:t")]
    assert with_tls(rendered, R24_1, tls_env.OFF) == rendered


def _controller_services() -> list[services.Service]:
    common = services.contrail_env(
        controller_ips=["10.0.0.10"], controller_data_ips=["192.168.1.10"], analytics_ips=["10.0.0.20"],
        analyticsdb_ips=[], log_level="SYS_NOTICE", auth_mode="rbac", orchestrator="kubernetes",
    )  # fmt: skip
    return [
        services.node_init(common, "opensdn/contrail-status:R24.1-latest"),
        services.nodemgr("config", "config", common),
        services.Service("config-api", "controller-config-api", "config", common),
        services.Service(
            "webui-web",
            "controller-webui-web",
            "webui",
            {
                **common,
                "WEBUI_STATIC_AUTH_USER": "admin",
                "WEBUI_STATIC_AUTH_PASSWORD": "generated",
            },
        ),
        services.Service(
            "configdb-cassandra",
            "external-cassandra",
            "config-database",
            services.cassandra_env(
                cluster_name="contrail_database",
                ports=services.CONFIG_CASSANDRA,
                node_type="config-database",
                addresses=["10.0.0.10"],
                jvm_options="",
            ),
        ),
        services.Service(
            "configdb-zookeeper",
            "external-zookeeper",
            "config-database",
            {"ZOOKEEPER_NODES": "10.0.0.10"},
        ),
        services.Service(
            "configdb-rabbitmq",
            "external-rabbitmq",
            "config-database",
            {"RABBITMQ_NODES": "10.0.0.10"},
        ),
        services.Service(
            "redis",
            "external-redis",
            "webui",
            {"REDIS_NODES": "10.0.0.10", "REDIS_SERVER_PORT": "6379"},
        ),
    ]


def test_on_every_tls_speaker_mounts_the_files_and_carries_their_hash():
    rendered = {s.name: s for s in with_tls(_controller_services(), R24_1, ON)}
    api = rendered["config-api"]
    assert api.env["SSL_ENABLE"] == "true" and api.env["SSL_INSECURE"] == "false"
    assert api.env["CASSANDRA_SSL_ENABLE"] == "true" and api.env["RABBITMQ_USE_SSL"] == "true"
    assert api.env["INTROSPECT_SSL_ENABLE"] == "false"
    assert api.env["SERVER_KEYFILE"] == "/etc/contrail/ssl/private/server-privkey.pem"
    assert api.extra_labels[HASH_LABEL] == "0123abcd"
    (mount,) = api.mounts
    assert (mount.source, mount.target, mount.read_only) == (
        ON.host_dir,
        "/etc/contrail/ssl",
        False,
    )
    webui = rendered["webui-web"].env
    assert webui["WEBUI_SSL_CERT_FILE"] == "/etc/contrail/ssl/certs/server.pem"
    assert webui["WEBUI_SSL_KEY_FILE"] == "/etc/contrail/ssl/private/server-privkey.pem"
    cassandra = rendered["configdb-cassandra"]
    assert cassandra.env["CASSANDRA_SSL_ENABLE"] == "true" and "SSL_ENABLE" not in cassandra.env
    assert rendered["configdb-rabbitmq"].env["RABBITMQ_USE_SSL"] == "true"


def test_on_node_init_zookeeper_and_redis_keep_the_files_out():
    before = {s.name: s for s in _controller_services()}
    rendered = {s.name: s for s in with_tls(_controller_services(), R24_1, ON)}
    assert rendered["node-init"] == before["node-init"]
    assert rendered["node-init"].env["SSL_ENABLE"] == "false"
    assert rendered["configdb-zookeeper"] == before["configdb-zookeeper"]
    redis = rendered["redis"]
    assert redis.env["REDIS_SSL_ENABLE"] == "true" and not redis.mounts
    assert HASH_LABEL not in redis.extra_labels


def test_a_renewal_changes_exactly_the_containers_that_mount_the_files():
    placement = services.Placement(
        "docker", "controller", "contrail-controller", "contrail-controller/0", Path("/e")
    )
    first = with_tls(_controller_services(), R24_1, ON)
    renewed = with_tls(_controller_services(), R24_1, TlsMaterial(True, ON.host_dir, "feedbeef"))
    changed = {
        a.name
        for a, b in zip(first, renewed, strict=True)
        if services.container_spec(a, "i:t", placement)
        != services.container_spec(b, "i:t", placement)
    }
    assert changed == {
        "config-nodemgr", "config-api", "webui-web", "configdb-cassandra", "configdb-rabbitmq"
    }  # fmt: skip


@pytest.mark.parametrize("line", sorted(LINES))
def test_the_rendered_tls_env_keeps_the_image_contract(line):
    rendered = with_tls(_controller_services(), LINES[line], ON)
    planned = services.workload(rendered, "docker", LINES[line], "10.0.0.10")
    assert planned.violations == []
    for service in rendered:
        unread = contract.unread(line, service.image, service.env)
        tls_unread = [v for v in unread if v in tls_env.profile_of(service.image).env]
        assert not tls_unread, f"{line} {service.image}: {tls_unread}"


def test_the_contract_refuses_a_partial_tls_env():
    common = {"SSL_ENABLE": "true", "CONTROLLER_NODES": "10.0.0.10"}
    problems = contract.problems(R24_1, "controller-config-api", common)
    assert any("INTROSPECT_SSL_ENABLE is not set" in p for p in problems)
    assert any("CASSANDRA_SSL_ENABLE is not set" in p for p in problems)
    assert any("RABBITMQ_USE_SSL is not set" in p for p in problems)
    node_init = {
        "SSL_ENABLE": "true",
        "CONTRAIL_STATUS_IMAGE": "opensdn/contrail-status:R24.1-latest",
    }
    assert any(
        "SSL_ENABLE must not be set" in p for p in contract.problems(R24_1, "node-init", node_init)
    )
    webui = contract.problems(
        R24_1, "controller-webui-web", {**common, "INTROSPECT_SSL_ENABLE": "false"}
    )
    assert any("WEBUI_SSL_CERT_FILE is not set" in p for p in webui)


def test_analytics_redis_gets_a_stunnel_on_its_address_and_port():
    redis = services.Service(
        "redis",
        "external-redis",
        "analytics",
        {"REDIS_NODES": "10.0.0.20", "REDIS_SERVER_PORT": "6379"},
    )
    stunnel = redis_stunnel(redis)
    assert (stunnel.name, stunnel.image, stunnel.role) == (
        "redis-stunnel",
        "external-stunnel",
        "analytics",
    )
    (rendered,) = with_tls([stunnel], R24_1, ON)
    assert rendered.env == {
        "REDIS_NODES": "10.0.0.20",
        "REDIS_SERVER_PORT": "6379",
        "REDIS_SSL_ENABLE": "true",
        "SERVER_CERTFILE": "/etc/contrail/ssl/certs/server.pem",
        "SERVER_KEYFILE": "/etc/contrail/ssl/private/server-privkey.pem",
        "SERVER_CA_CERTFILE": "/etc/contrail/ssl/certs/ca-cert.pem",
    }
    assert rendered.mounts and rendered.extra_labels[HASH_LABEL] == ON.content_hash
    for line in LINES:
        assert contract.unread(line, "external-stunnel", rendered.env) == []
