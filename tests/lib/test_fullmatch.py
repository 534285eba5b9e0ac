"""A value validated by a pattern is matched whole: `re.match(r"...$")` took a trailing newline.

Each case is a valid value with `\\n` appended, for every pattern that validates a value in the
library and the interface schemas.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contrail_common.config import InvalidConfigError, WorkloadConfig
from contrail_common.containers import ContainerSpec, Mount
from contrail_common.containers.spec import check_project
from contrail_common.host.kernel_module import module_options
from contrail_common.monitoring import nrpe

OPTIONS = {
    "http-proxy": "http://proxy.example:3128",
    "https-proxy": "https://proxy.example:3128",
    "nagios_context": "juju",
    "nagios_servicegroups": "contrail",
    "registry-credentials": "secret:cs1v0pr3gb3jkh5c0avg",
    "docker-registry": "registry.example:5000/contrail",
    "image-tag": "R24.1-latest",
}


@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("ending", ["\n", "\r\n", "\n\n"])
def test_options_with_a_trailing_newline_are_refused(option, ending):
    WorkloadConfig.load({option: OPTIONS[option]})
    with pytest.raises(InvalidConfigError) as raised:
        WorkloadConfig.load({option: OPTIONS[option] + ending})
    assert raised.value.options == [option]


@pytest.mark.parametrize(
    "remote",
    [
        {"nagios_hostname": "site-unit-0\n"},
        {"nagios_hostname": "site-unit-0\n", "nagios_host_context": "site"},
    ],
)
def test_a_remote_nagios_hostname_with_a_newline_is_ignored(remote):
    host = nrpe.nagios_host("juju", "", "contrail-agent/0", [remote])
    assert host.hostname == "juju-contrail-agent-0"


@pytest.mark.parametrize(
    "context",
    ["site\n", "site\n    notes_url http://evil", "a b", "x;y", "site\r", "\x85"],
)
def test_a_remote_nagios_host_context_is_checked_like_nagios_context(context):
    remote = {"nagios_hostname": "site-unit-0", "nagios_host_context": context}
    host = nrpe.nagios_host("juju", "", "contrail-agent/0", [remote])
    assert (host.hostname, host.unit_label) == ("site-unit-0", "contrail-agent/0")
    with pytest.raises(InvalidConfigError):
        WorkloadConfig.load({"nagios_context": context})


def test_a_valid_remote_nagios_host_context_is_used():
    remote = {"nagios_hostname": "site-unit-0", "nagios_host_context": "site"}
    assert nrpe.nagios_host("juju", "", "contrail-agent/0", [remote]).unit_label == (
        "site:contrail-agent/0"
    )


def test_names_of_containers_projects_volumes_and_checks():
    with pytest.raises(ValueError):
        check_project("contrail-agent-0\n")
    with pytest.raises(ValidationError):
        ContainerSpec(name="config-api\n", image="i")
    with pytest.raises(ValidationError):
        Mount(target="/data", source="volume\n", kind="volume")
    with pytest.raises(ValidationError):
        ContainerSpec(name="c", image="i", cap_add=("NET_ADMIN\n",))
    with pytest.raises(ValueError):
        nrpe.Check("contrail_agent\n", "d", ("/bin/true",))


def test_kernel_module_options():
    assert module_options(["vr_flow_entries=4000000"]) == ["vr_flow_entries=4000000"]
    with pytest.raises(ValueError):
        module_options(["vr_flow_entries=4000000\n"])
