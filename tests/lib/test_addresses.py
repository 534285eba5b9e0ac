"""IPv6 scope ids (`fe80::1%<anything>`) are refused in every address of options and databags.

`addresses` is imported where it is used, so that the databag checks run on any version.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import contrail_interfaces
from contrail_common.config import InvalidConfigError, WorkloadConfig
from contrail_common.databag import DatabagModel
from contrail_common.testing_hostile import PROPERTY_SETTINGS

SCOPED = ["fe80::1%eth0", "fe80::1%eth0 X=1", "::1%0", "fe80::1%25eth0"]
SCOPED_NETWORKS = ["fe80::%eth0/64", "fe80::%x y/64"]


def sample_model() -> type[BaseModel]:
    from contrail_common.addresses import Address, AddressText, Host, Network

    class Sample(BaseModel):
        address: Address | None = None
        network: Network | None = None
        text: AddressText | None = None
        host: Host | None = None

    return Sample


@pytest.mark.parametrize("value", SCOPED)
def test_scoped_addresses_are_refused(value):
    from contrail_common.addresses import check_host, parse_address

    Sample = sample_model()
    with pytest.raises(ValueError, match="scope id"):
        parse_address(value)
    for field in ("address", "text", "host"):
        with pytest.raises(ValidationError, match="scope id"):
            Sample.model_validate({field: value})
    with pytest.raises(ValueError, match="scope id"):
        check_host(value)


@pytest.mark.parametrize("value", SCOPED_NETWORKS)
def test_scoped_networks_are_refused(value):
    from contrail_common.addresses import parse_network

    Sample = sample_model()
    with pytest.raises(ValueError, match="scope id"):
        parse_network(value)
    with pytest.raises(ValidationError, match="scope id"):
        Sample.model_validate({"network": value})
    with pytest.raises(InvalidConfigError, match="control-network"):
        WorkloadConfig.load({"control-network": f"10.0.0.0/24,{value}"})


@PROPERTY_SETTINGS
@given(st.text())
def test_whatever_follows_a_percent_sign(scope):
    from contrail_common.addresses import parse_address, parse_network

    with pytest.raises(ValueError):
        parse_address(f"fe80::1%{scope}")
    with pytest.raises(ValueError):
        parse_network(f"fe80::%{scope}/64")


def test_plain_addresses_and_names_pass():
    from contrail_common.addresses import check_host

    plain = {"address": "fe80::1", "network": "10.0.0.0/24", "text": "10.0.0.1", "host": "k8s"}
    assert sample_model().model_validate(plain).model_dump(mode="json") == plain
    assert check_host("FD00::0001") == "fd00::1"
    for bad in ("", "a b", "-x", "x..y", "[fd00::1]", "a" * 64):
        with pytest.raises(ValueError):
            check_host(bad)


def databag_models() -> list[type[DatabagModel]]:
    """Every model of every interface schema."""
    models = []
    for info in pkgutil.iter_modules(contrail_interfaces.__path__):
        module = importlib.import_module(f"contrail_interfaces.{info.name}")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, DatabagModel) and value is not DatabagModel:
                if value.__module__ == module.__name__:
                    models.append(value)
    return models


def fields_of(model: type[DatabagModel]) -> list[tuple[type[DatabagModel], str]]:
    return [(model, name) for name in model.model_fields]


FIELDS = [pair for model in databag_models() for pair in fields_of(model)]
# An address field takes one of these shapes, and refuses text that is no address.
SHAPES = [
    ("10.0.0.1", "fe80::1%eth0"),
    (["10.0.0.1"], ["fe80::1%eth0"]),
    ("10.0.0.0/24", "fe80::%eth0/64"),
    (["10.0.0.0/24"], ["fe80::%eth0/64"]),
]


# Required fields of nested models, given valid values while another field is drawn.
REQUIRED = {"unit": "app/0", "address": "10.0.0.1", "member": 1, "service": "cassandra"}


def accepts(model: type[BaseModel], field: str, value: object) -> bool:
    required = {
        name: REQUIRED[name] for name, info in model.model_fields.items() if info.is_required()
    }
    try:
        model.model_validate({**required, field: value})
    except ValidationError:
        return False
    return True


def is_address_field(model: type[BaseModel], field: str) -> bool:
    if accepts(model, field, "not an address!"):
        return False  # free text
    return any(accepts(model, field, plain) for plain, _ in SHAPES)


ADDRESS_FIELDS = [pair for pair in FIELDS if is_address_field(*pair)]


@pytest.mark.parametrize(
    "model, field",
    ADDRESS_FIELDS,
    ids=[f"{m.__module__.split('.')[-1]}.{m.__name__}.{f}" for m, f in ADDRESS_FIELDS],
)
def test_no_databag_address_field_takes_a_scope_id(model, field):
    for plain, scoped in SHAPES:
        if accepts(model, field, plain):
            assert not accepts(model, field, scoped), f"{model.__name__}.{field} took {scoped}"


def test_every_address_field_is_found():
    """The classification above finds the fields it must (so that it checks something)."""
    found = {f"{m.__name__}.{f}" for m, f in ADDRESS_FIELDS}
    assert {
        "PeerAppData.kubernetes_service_ip",
        "Member.address",
        "Member.data_address",
        "PeerUnitData.address",
        "ProviderAppData.analytics_ips",
        "ProviderAppData.nested_vip",
        "KubernetesCluster.api_server",
        "KubernetesCluster.pod_subnets",
        "RequirerAppData.kubernetes_api_server",
        "ProviderUnitData.hostname",
        "RequirerUnitData.vhost_address",
    } <= found
