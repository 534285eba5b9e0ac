"""The workload module without ops: routes, CIDRs and the CNI config template."""

from __future__ import annotations

import json

import pytest
from kubernetes_node import (
    KubernetesNodeConfig,
    NodeInputs,
    endpoint,
    overlaps,
    parse_cidrs,
    render_cni_conf,
    services,
)


def test_parse_cidrs_accepts_dual_stack_and_rejects_garbage():
    assert [str(n) for n in parse_cidrs("10.152.183.0/24, fd00::/108")] == [
        "10.152.183.0/24",
        "fd00::/108",
    ]
    with pytest.raises(ValueError):
        parse_cidrs("10.152.183.0/24,nope")


def test_overlaps_compare_only_the_same_family():
    assert overlaps(["10.32.0.0/12", "fd00::/64"], ["10.152.183.0/24", "fd00::/108"]) == [
        ("fd00::/64", "fd00::/108")
    ]
    assert overlaps(["10.32.0.0/12"], ["10.40.0.0/16"]) == [("10.32.0.0/12", "10.40.0.0/16")]


def test_endpoint_brackets_ipv6():
    assert endpoint("10.10.10.5", 9091) == "10.10.10.5:9091"
    assert endpoint("fd00::5", 9091) == "[fd00::5]:9091"


def test_conf_escapes_what_it_is_given(tmp_path):
    path = tmp_path / "01-juniper-contrail.conf"
    inputs = NodeInputs(cluster_name='we"ird\\name', pod_subnets=["10.32.0.0/12"])
    assert render_cni_conf(path, inputs) is True
    assert json.loads(path.read_text())["contrail"]["cluster-name"] == 'we"ird\\name'
    assert render_cni_conf(path, inputs) is False, "unchanged content is not rewritten"


def test_nested_env_uses_contrails_spelling():
    config = KubernetesNodeConfig.load({"image-tag": "R24.1-latest"})
    inputs = NodeInputs(
        cluster_name="k8s",
        pod_subnets=["10.32.0.0/12"],
        nested_mode=True,
        nested_vip="10.10.10.5",
        nested_port=9091,
    )
    (service,) = services(config, inputs)
    assert service.env["KUBERNESTES_NESTED_VROUTER_VIP"] == "10.10.10.5"
    assert service.env["KUBEMANAGER_NESTED_MODE"] == "1"
    assert service.env["VROUTER_PORT"] == "9091"
    assert service.one_shot
