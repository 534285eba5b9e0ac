"""Test support: hostile values for every option and databag field of a charm (hypothesis).

Each charm's `test_hostile_input.py` runs its ready state with one option or one databag
field replaced by a drawn value, and checks what any value must leave behind:

- no exception escapes the charm;
- a value the config model refuses blocks the unit with a message naming the option, and a
  value a remote databag schema refuses blocks it naming the relation and the field;
- a value holding a line break or control character is always refused (and an IPv6 scope id
  in an address option too);
- every env file reads the same in Docker, ctr and the library as the lines written
  (`testing_envfile`), and every nrpe file holds exactly the lines of its template.

Used by the charms' tests only: hypothesis is a test requirement, not a charm one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Optional

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from ops import testing
from pydantic import BaseModel

from .config import CharmConfig, InvalidConfigError
from .hostpaths import HostRoot
from .monitoring.nrpe import EXPORT_DIR, NRPE_CONF_DIR
from .testing_envfile import misread_env_files

# Pure functions: many examples, the same ones on every CI run.
PROPERTY_SETTINGS = settings(
    max_examples=500,
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
)
# Each example runs a whole hook, so few of them; CI runs the same ones every time.
CHARM_SETTINGS = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "50")),
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every character `str.splitlines()` breaks at, other C0 and C1 controls, a lone surrogate
# (JSON can carry one), and what shells, URLs, lists, env and Nagios files give meaning to.
BREAKERS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
CONTROLS = "\x00\x01\t\x1b\x1f\x7f\x80\x9f"
SPECIAL = " %$={}[]()<>,;:#'\"\\/@!*?&|~`^+"
PRINTABLE = "aZ09.-_é€\u00a0\ufeff\U0001f600"
# Well-known bad values (the image reference ones from item 12 of issue 12 among them).
KNOWN = (
    "",
    " ",
    "${HOME}",
    "$(id)",
    "a,b c",
    "/",
    "fe80::1%eth0",
    "fe80::%eth0/64",
    "fe80::1%eth0 X=1",
    "10.0.0.1%x",
    "x\nY=1",
    "x\x85Y=1",
    "x\u2028Y=1",
    "x\rY=1",
    "\ud800",
)
# Options holding addresses or networks: a scope id must be refused there.
ADDRESS_OPTIONS = frozenset(
    {
        "control-network",
        "data-network",
        "pod_subnets",
        "service_subnets",
        "ip_fabric_subnets",
        "nested_vip",
        "nested_controller_nodes",
        "nested_keystone_url",
        "kubernetes_api_hostname",
        "xflow-node-ip",
        "l3mh-cidr",
        "vhost-gateway",
    }
)
_SCOPED = re.compile(r"[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*%")
SECRET_ID = "cs1v0pr3gb3jkh5c0avg"  # noqa: S105 - the form of a Juju secret ID, no secret
_SKIP_CHECKS = "SCENARIO_SKIP_CONSISTENCY_CHECKS"


def unsafe(value: Any) -> bool:
    """Whether any string in `value` holds a line breaker, a control character or a surrogate
    (by Unicode category and `splitlines`, independently of `text.py`)."""
    if isinstance(value, str):
        return any(
            unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or len(f"a{c}b".splitlines()) > 1
            for c in value
        )
    if isinstance(value, Mapping):
        return any(unsafe(k) or unsafe(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(unsafe(item) for item in value)
    return False


def hostile_text(seed: str = "") -> st.SearchStrategy[str]:
    """Strings that break things, alone or appended to, inserted into or replacing `seed`."""
    alphabet = st.sampled_from(BREAKERS + CONTROLS + SPECIAL + PRINTABLE + "\ud800")
    junk = st.text(alphabet, min_size=1, max_size=6)
    return st.one_of(
        st.sampled_from(KNOWN),
        junk,
        junk.map(lambda tail: seed + tail),
        junk.map(lambda head: head + seed),
        st.tuples(st.integers(0, len(seed)), junk).map(
            lambda p: seed[: p[0]] + p[1] + seed[p[0] :]
        ),
        st.text(max_size=8),
    )


def hostile_json(seed: Any = None) -> st.SearchStrategy[Any]:
    """JSON values of any shape, and `seed` with one string in it made hostile."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        hostile_text(),
    )
    anything = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(hostile_text(), inner, max_size=3),
        ),
        max_leaves=6,
    )
    return st.one_of(anything, _mutations(seed))


def _mutations(seed: Any) -> st.SearchStrategy[Any]:
    """`seed` with one of its strings (or list items, or dict keys) replaced by a hostile one."""
    if isinstance(seed, str):
        return hostile_text(seed)
    if isinstance(seed, list) and seed:
        return st.integers(0, len(seed) - 1).flatmap(
            lambda i: _mutations(seed[i]).map(lambda item: [*seed[:i], item, *seed[i + 1 :]])
        )
    if isinstance(seed, dict) and seed:
        keys = sorted(seed)

        def change(key: str) -> st.SearchStrategy[Any]:
            renamed = hostile_text(key).map(
                lambda new: {**{k: v for k, v in seed.items() if k != key}, new: seed[key]}
            )
            revalued = _mutations(seed[key]).map(lambda new: {**seed, key: new})
            return st.one_of(renamed, revalued)

        return st.sampled_from(keys).flatmap(change)
    return hostile_text(str(seed) if seed is not None else "")


# -- options ---------------------------------------------------------------------------------


def charm_options(charm_dir: Path) -> dict[str, dict[str, Any]]:
    """The options a charm declares: name -> {type, default, ...}."""
    meta = yaml.safe_load((charm_dir / "charmcraft.yaml").read_text())
    return dict((meta.get("config") or {}).get("options") or {})


def option_value(spec: Mapping[str, Any], current: Any) -> st.SearchStrategy[Any]:
    kind = spec.get("type", "string")
    if kind == "boolean":
        return st.booleans()
    if kind == "int":
        return st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([-1, 0, 1, 65536]))
    if kind == "float":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "secret":  # Juju checks the scheme only (see testing.MALFORMED_SECRET_URI)
        return st.one_of(st.just(""), hostile_text(SECRET_ID).map(lambda tail: "secret:" + tail))
    seed = current if current is not None else spec.get("default", "")
    return hostile_text(str(seed))


def option_changes(
    options: Mapping[str, Mapping[str, Any]], config: Mapping[str, Any]
) -> st.SearchStrategy[tuple[str, Any]]:
    """(option, value) for any one option of the charm."""
    return st.sampled_from(sorted(options)).flatmap(
        lambda name: st.tuples(st.just(name), option_value(options[name], config.get(name)))
    )


@contextlib.contextmanager
def delivered_by_juju(spec: Mapping[str, Any]) -> Iterator[None]:
    """Let the next run take what Juju lets through for this option: ops.testing refuses a
    `type: secret` value unless it looks like a secret ID, while Juju checks the scheme."""
    if spec.get("type") != "secret":
        yield
        return
    previous = os.environ.get(_SKIP_CHECKS)
    os.environ[_SKIP_CHECKS] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[_SKIP_CHECKS]
        else:
            os.environ[_SKIP_CHECKS] = previous


def check_option_run(
    model: type[CharmConfig], config: Mapping[str, Any], option: str, out: testing.State
) -> None:
    """What one run with `config` (a ready config with `option` changed) must show."""
    try:
        model.load(config)
        refused: Optional[InvalidConfigError] = None
    except InvalidConfigError as error:
        refused = error
    value = config[option]
    if unsafe(value) or (option in ADDRESS_OPTIONS and _SCOPED.search(str(value))):
        assert refused is not None, f"{option}={value!r} was accepted"
    if refused is not None:
        status = out.unit_status
        assert status.name == "blocked", f"{option}={value!r}: {status}"
        assert option in status.message, f"{option}={value!r}: {status.message}"


# -- databags --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Databag:
    """One databag a charm reads: the relation's endpoint, whose it is, and its schema.

    `owner` is `app` or `unit` (the remote application's or first remote unit's), or
    `peer-app` or `peer-unit` (this application's, or another unit's, on the peer relation).
    `blocks`: a value the schema refuses blocks the unit (a remote databag); otherwise the
    charm passes over it (its own leader's data, which it rewrites, and nrpe's, which it
    ignores with a warning), and only the files show whether it did so safely.
    """

    endpoint: str
    owner: str
    model: type[BaseModel]
    raw: bool = False
    blocks: bool = True

    def keys(self) -> list[str]:
        return sorted(field.alias or name for name, field in self.model.model_fields.items())

    def of(self, relation: Any) -> dict[str, str]:
        if self.owner == "app":
            return dict(relation.remote_app_data)
        if self.owner == "peer-app":
            return dict(relation.local_app_data)
        if self.owner == "peer-unit":
            return dict(next(iter(relation.peers_data.values()), {}))
        if isinstance(relation, testing.SubordinateRelation):
            return dict(relation.remote_unit_data)
        return dict(next(iter(relation.remote_units_data.values()), {}))

    def replaced(self, relation: Any, data: dict[str, str]) -> Any:
        if self.owner == "app":
            return dataclasses.replace(relation, remote_app_data=data)
        if self.owner == "peer-app":
            return dataclasses.replace(relation, local_app_data=data)
        if self.owner == "peer-unit":
            unit = next(iter(relation.peers_data), 1)
            return dataclasses.replace(relation, peers_data={**relation.peers_data, unit: data})
        if isinstance(relation, testing.SubordinateRelation):
            return dataclasses.replace(relation, remote_unit_data=data)
        unit = next(iter(relation.remote_units_data), 0)
        units = {**relation.remote_units_data, unit: data}
        return dataclasses.replace(relation, remote_units_data=units)


def databag_changes(
    state: testing.State, databags: list[Databag]
) -> st.SearchStrategy[tuple[Databag, str, Any]]:
    """(databag, key, value) for any field of any databag the charm reads."""
    fields = [(bag, key) for bag in databags for key in bag.keys()]

    def value(pair: tuple[Databag, str]) -> st.SearchStrategy[tuple[Databag, str, Any]]:
        bag, key = pair
        current = bag.of(relation_of(state, bag.endpoint)).get(key)
        if bag.raw:
            drawn = hostile_text(current or "")
        else:
            drawn = hostile_json(json.loads(current) if current is not None else None)
        return drawn.map(lambda v: (bag, key, v))

    return st.sampled_from(fields).flatmap(value)


def relation_of(state: testing.State, endpoint: str) -> Any:
    return next(r for r in state.relations if r.endpoint == endpoint)


def with_field(state: testing.State, bag: Databag, key: str, value: Any) -> testing.State:
    relation = relation_of(state, bag.endpoint)
    data = bag.of(relation)
    data[key] = value if bag.raw else json.dumps(value)
    others = [r for r in state.relations if r is not relation]
    return dataclasses.replace(state, relations=[*others, bag.replaced(relation, data)])


def check_databag_run(state: testing.State, bag: Databag, key: str, out: testing.State) -> None:
    """What one run with a drawn `key` in `bag` must show."""
    data = bag.of(relation_of(state, bag.endpoint))
    decoded = dict(data) if bag.raw else {k: json.loads(v) for k, v in data.items()}
    try:
        bag.model.model_validate(decoded)
        refused = False
    except ValueError:  # pydantic's ValidationError among them
        refused = True
    if not bag.blocks:
        return
    if unsafe(decoded.get(key)):
        assert refused, f"{bag.endpoint} {key}={decoded.get(key)!r} was accepted"
    if refused:
        status = out.unit_status
        assert status.name == "blocked", f"{bag.endpoint} {key}={decoded[key]!r}: {status}"
        assert bag.endpoint in status.message and key in status.message, status.message


# -- files -----------------------------------------------------------------------------------


def nrpe_file_problems(host: HostRoot) -> list[str]:
    """nrpe and exported-service files with a name or a line their template does not make."""
    problems = []
    check_line = re.compile(r"command\[check_[A-Za-z0-9_-]+\]=.*")
    directives = {"use", "host_name", "service_description", "check_command", "servicegroups"}
    for folder in (NRPE_CONF_DIR, EXPORT_DIR):
        directory = host.path(folder)
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            if unsafe(path.name) or not re.fullmatch(r"[A-Za-z0-9._-]+\.cfg", path.name):
                problems.append(f"{folder}: file name {path.name!r}")
            text = path.read_text()
            if unsafe(text.replace("\n", "")):
                problems.append(f"{path.name}: a line break or control character inside a line")
            lines = text.split("\n")
            if folder == NRPE_CONF_DIR:
                commands = [line for line in lines if line and not line.startswith("#")]
                if len(commands) != 1 or not check_line.fullmatch(commands[0]):
                    problems.append(f"{path.name}: {commands!r}")
                continue
            body = lines[lines.index("define service {") + 1 : lines.index("}")]
            keys = [line.split()[0] for line in body]
            if sorted(keys) != sorted(directives):
                problems.append(f"{path.name}: directives {keys}")
    return problems


def check_files(host: HostRoot) -> None:
    problems = misread_env_files(host.path("/etc/contrail")) + nrpe_file_problems(host)
    assert not problems, problems


def nrpe_relation(**remote: str) -> testing.SubordinateRelation:
    """nrpe on the unit's machine, as the nrpe subordinate relates."""
    return testing.SubordinateRelation(
        "nrpe-external-master", remote_app_name="nrpe", remote_unit_data=remote
    )


class NrpeRemoteData(BaseModel):
    """The keys the nrpe subordinate sends that the charm reads (plain strings)."""

    nagios_hostname: str = ""
    nagios_host_context: str = ""


NRPE = Databag("nrpe-external-master", "unit", NrpeRemoteData, raw=True, blocks=False)


def install_nrpe(host: HostRoot) -> None:
    """What installing nagios-nrpe-server and the nrpe charm's export leave on the machine."""
    for folder in (NRPE_CONF_DIR, EXPORT_DIR):
        host.path(folder).mkdir(parents=True, exist_ok=True)
