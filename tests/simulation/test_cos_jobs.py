"""What the COS agent on each machine makes of the Contrail units' cos-agent data.

The requirer side is modelled on the released `cos_agent` library (LIBAPI 0, LIBPATCH 26, the
same file in grafana-agent and opentelemetry-collector): `COSAgentRequirer._remote_data` reads
the one remote unit of each of the agent unit's `cos-agent` relations, and `metrics_jobs` turns
every job of every such unit into one flat list, which the agent uses as the `scrape_configs`
of a single scrape instance. grafana-agent and Prometheus refuse that whole list when two jobs
share a name ("found multiple scrape configs with job name ..."), so one unit with a clashing
name takes every metric of the machine down, Charmed Kubernetes' own included.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cosl import JujuTopology
from model import Model, Unit

REPO = Path(__file__).resolve().parents[2]
STANDARD = REPO / "bundles" / "k8s-contrail.yaml"
COS = REPO / "bundles" / "overlays" / "cos.yaml"
AGENT = "grafana-agent"
MODEL_NAME, MODEL_UUID = "k8s", "6f1d3a2b-8c4e-4f5a-9b7c-2d1e0f3a4b5c"


@pytest.fixture(scope="module")
def model():
    model = Model(STANDARD, [COS])
    try:
        model.deploy()
        yield model
    finally:
        model.close()


def provider_units(model: Model, agent: Unit) -> list[tuple[Unit, int]]:
    """The unit at the other end of each of the agent unit's cos-agent relations."""
    found = []
    for relation in model.relations:
        mine = [s for s in relation.sides if s.app == AGENT and s.endpoint == "cos-agent"]
        if not mine:
            continue
        (other,) = [s for s in relation.sides if s.app != AGENT]
        remote = model.peers_in_scope(agent, relation, other)
        # Container scope: the real requirer raises on more than one remote unit.
        assert len(remote) <= 1, (agent.name, other.app, [u.name for u in remote])
        found += [(unit, relation.id) for unit in remote]
    return found


def requirer_scrape_configs(model: Model, agent: Unit) -> list[dict[str, Any]]:
    """`COSAgentRequirer.metrics_jobs` as seen by one agent unit."""
    from contrail_interfaces.cos_agent_v0 import ProviderUnitData  # same fields, extra ignored

    jobs = []
    for unit, relation_id in provider_units(model, agent):
        raw = model.unit_bags.get((relation_id, unit.name), {}).get(ProviderUnitData.KEY)
        if not raw:
            continue  # the Charmed Kubernetes stand-ins write no cos-agent data
        # The real requirer skips data it cannot validate; here that is a failure in itself.
        data = ProviderUnitData(**json.loads(raw))
        topology = JujuTopology(MODEL_NAME, MODEL_UUID, unit.app, unit.name)
        labels = {
            f"juju_{key}": value
            for key, value in topology.as_dict(excluded_keys=["charm_name"]).items()
            if value
        }
        for job in copy.deepcopy(data.metrics_scrape_jobs):
            if "path" in job and "port" in job and "job_name" in job:  # pre-v0.5 providers
                job = {
                    "job_name": job["job_name"],
                    "metrics_path": job["path"],
                    "static_configs": [{"targets": [f"localhost:{job['port']}"]}],
                    "tls_config": {"insecure_skip_verify": True},
                }
            for static_config in job.get("static_configs", []):
                static_config["labels"] = {**static_config.get("labels", {}), **labels}
            jobs.append(job)
    return jobs


def duplicate_job_names(scrape_configs: list[dict[str, Any]]) -> list[str]:
    """What the agent's config check refuses: an empty or repeated `job_name`."""
    seen: set[str] = set()
    refused = []
    for job in scrape_configs:
        name = job.get("job_name", "")
        if not name or name in seen:
            refused.append(name)
        seen.add(name)
    return refused


def test_every_agent_gets_uniquely_named_jobs_from_all_units_beside_it(model):
    agents = model.apps[AGENT].units
    assert agents, "the COS overlay puts an agent beside every principal"
    jobs_per_agent = {}
    for agent in agents:
        scrape_configs = requirer_scrape_configs(model, agent)
        where = f"{agent.name} on machine {agent.machine.name}"
        assert duplicate_job_names(scrape_configs) == [], f"{where} would refuse its config"
        jobs_per_agent[agent.name] = scrape_configs
    # Not vacuous: the Kubernetes control plane carries three Contrail units, each with its job.
    by_count = sorted(len(jobs) for jobs in jobs_per_agent.values())
    assert by_count[-1] == 3, by_count
    assert sum(by_count) == len(model.units), "one job from every Contrail unit"


def test_each_job_keeps_its_target_and_the_units_topology(model):
    seen_units = set()
    for agent in model.apps[AGENT].units:
        for job in requirer_scrape_configs(model, agent):
            (static_config,) = job["static_configs"]
            (target,) = static_config["targets"]
            unit = static_config["labels"]["juju_unit"]
            app = static_config["labels"]["juju_application"]
            assert job["job_name"].startswith(f"{app}_contrail_"), job["job_name"]
            assert target.startswith("localhost:")
            seen_units.add(unit)
    assert seen_units == {u.name for u in model.units}


def test_a_new_worker_brings_uniquely_named_jobs_too(model):
    model.add_unit("kubernetes-worker")
    worker = model.apps["kubernetes-worker"].units[-1]
    (agent,) = [u for u in model.apps[AGENT].units if u.principal == worker.name]
    scrape_configs = requirer_scrape_configs(model, agent)
    names = [job["job_name"] for job in scrape_configs]
    assert len(names) == 2 and duplicate_job_names(scrape_configs) == [], names
