"""The typed-config base: one short message that names every bad option."""

from __future__ import annotations

import ipaddress
from typing import Optional

import pytest
from pydantic import Field

from contrail_common.config import CharmConfig, CidrList, InvalidConfigError, LogLevel, SecretUri


class SampleConfig(CharmConfig):
    log_level: LogLevel = "SYS_NOTICE"
    control_network: CidrList = ()
    min_cluster_size: int = Field(default=1, ge=1, le=9)
    registry_secret: SecretUri = ""
    cluster_name: str = Field(default="k8s", alias="cluster_name", min_length=1)
    image_tag: Optional[str] = None


def test_defaults_and_option_names():
    config = SampleConfig.load(
        {"control-network": "10.0.0.0/24, 192.168.1.0/24", "cluster_name": "c2"}
    )
    assert config.control_network == (
        ipaddress.ip_network("10.0.0.0/24"),
        ipaddress.ip_network("192.168.1.0/24"),
    )
    assert config.cluster_name == "c2"
    assert config.log_level == "SYS_NOTICE"
    assert SampleConfig.load({"unrelated-option": "x"}).min_cluster_size == 1


def test_one_message_names_every_bad_option():
    with pytest.raises(InvalidConfigError) as raised:
        SampleConfig.load(
            {
                "log-level": "DEBUG",
                "control-network": "10.0.0.0/33",
                "min-cluster-size": 0,
                "registry-secret": "hunter2",
            }
        )
    error = raised.value
    assert error.options == ["log-level", "control-network", "min-cluster-size", "registry-secret"]
    message = str(error)
    assert message.startswith("invalid config: log-level: must be one of SYS_EMERG, ")
    assert "control-network: '10.0.0.0/33' is not a CIDR such as 10.0.0.0/24" in message
    assert "min-cluster-size: input should be greater than or equal to 1" in message
    assert "registry-secret: must be a Juju secret URI" in message
    assert "hunter2" not in message, "input values stay out of the status message"


def test_secret_uri_accepts_juju_forms():
    short = "secret:cs1v0pr3gb3jkh5c0avg"
    full = "secret://4d9c1b7e-2f3a-4c5d-8e6f-7a8b9c0d1e2f/cs1v0pr3gb3jkh5c0avg"
    assert SampleConfig.load({"registry-secret": short}).registry_secret == short
    assert SampleConfig.load({"registry-secret": full}).registry_secret == full


def test_underscore_option_keeps_its_name_in_messages():
    with pytest.raises(InvalidConfigError, match="cluster_name: string should have at least 1"):
        SampleConfig.load({"cluster_name": ""})
