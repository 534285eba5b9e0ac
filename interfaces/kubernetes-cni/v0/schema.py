"""Databags of Charmed Kubernetes' `kubernetes-cni` interface, as its charms write them today.

kubernetes-control-plane and kubernetes-worker provide `cni` (container scope); a CNI
subordinate requires it. All data is in UNIT databags, as plain strings (not JSON).
Source: charm-lib-interface-kubernetes-cni (`KubernetesCniProvides`) and the CK principals.
"""

from __future__ import annotations

from typing import Optional

from contrail_common.databag import DatabagModel


class ProviderUnitData(DatabagModel):
    """Written by each kubernetes-control-plane / kubernetes-worker unit."""

    raw_values = True

    # sha256 of /root/.kube/config, "" while it does not exist: the "API is usable" signal.
    kubeconfig_hash: Optional[str] = None
    # The registry prefix Charmed Kubernetes pulls its images from.
    image_registry: Optional[str] = None
    # The Kubernetes service CIDR(s), comma separated; control-plane units only.
    service_cidr: Optional[str] = None


class RequirerUnitData(DatabagModel):
    """Written by each unit of the CNI subordinate."""

    raw_values = True

    # The pod network, used by kube-controller-manager and kube-proxy.
    cidr: Optional[str] = None
    # A basename in /etc/cni/net.d; the principals pick the first file by name.
    cni_conf_file: Optional[str] = None
