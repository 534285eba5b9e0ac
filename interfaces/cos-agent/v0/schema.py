"""The provider's unit databag of the COS `cos_agent` interface (v0), as its requirers read it.

The COS agent machine charms (grafana-agent, opentelemetry-collector) are subordinates related
with container scope, so everything travels in the provider UNIT databag, under one key,
`config`, whose value is this model as JSON. The requirer scrapes the jobs from its own
machine, labelled with the provider unit's Juju topology, and forwards the rules and dashboards
to Prometheus and Grafana.

These are the fields of the released library's `CosAgentProviderUnitData` (`cos_agent`
LIBAPI 0, LIBPATCH 26). Its model ignores keys it does not know, so a field that is not here
is dropped without a word. There is no field for log files: the agents send every
`/var/log/**/*log` file of their machine to Loki themselves, under their own topology labels,
and read snap slots (`log_slots`) only for snaps.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional

from pydantic import BaseModel, ConfigDict


class ProviderUnitData(BaseModel):
    """Written by every unit of a Contrail charm related on `cos-agent`."""

    model_config = ConfigDict(extra="ignore")

    # The databag key the whole model is written under, as JSON.
    KEY: ClassVar[str] = "config"

    # Same for every unit of the application (forwarded by the agent's leader):
    # Prometheus rule file content, {"groups": [...]}, topology labels already added.
    metrics_alert_rules: dict[str, Any]
    # Loki rule file content, {} when there are none.
    log_alert_rules: dict[str, Any]
    # Grafana dashboards, each JSON compressed with LZMA and then base64 encoded.
    dashboards: list[str]
    # Unused by current requirers; kept in the data for older ones.
    subordinate: Optional[bool] = None

    # May differ per unit:
    # Prometheus scrape_configs; targets are `localhost:<port>` on the unit's machine. The agent
    # merges the jobs of every unit on its machine into one list, where job names must differ.
    metrics_scrape_jobs: list[dict[str, Any]]
    # Snap slots to read logs from (`snap:slot`); none for the Contrail charms.
    log_slots: list[str]
    # Tracing protocols requested; the Contrail charms send no traces.
    tracing_protocols: Optional[list[str]] = None
