"""Databag of the legacy `http` interface on `kube-api-endpoint` (Charmed Kubernetes < 1.28).

The reactive kubernetes-master provided it (container scope); current kubernetes-control-plane
does not. Plain strings in the provider's UNIT databag.
"""

from __future__ import annotations

from typing import Optional

from contrail_common.addresses import Host, Port
from contrail_common.databag import DatabagModel


class ProviderUnitData(DatabagModel):
    raw_values = True

    hostname: Optional[Host] = None
    port: Optional[Port] = None
