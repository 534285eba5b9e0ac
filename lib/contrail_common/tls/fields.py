"""The TLS fields of the Contrail relations, as databag models the interface schemas take in.

Three kinds, by who writes them:

- `TlsUnitFields`, each unit about itself on its peer relation (`contrail-cluster`): the CA of
  the certificate it holds (its files, or a newer one it waits to write).
- `TlsReportFields`, each application's leader about the whole application, to the controller:
  on `contrail-analytics` and `contrail-analyticsdb` (provider app data) and
  `contrail-controller` (requirer app data of the agent and kubernetes-master).
- `TlsSwitchFields`, the controller leader's decision for the deployment: on
  `contrail-controller` (provider app data, with `ca-certs` for consumers that request no
  certificates), and relayed to analytics and analyticsdb (their requirer app data written by
  the controller) and by kubernetes-master to its nodes if they ever need it.

Each schema takes them in by inheritance (`class ProviderAppData(TlsReportFields): ...`) or by
copying the fields; the keys are the field names with hyphens, JSON values, as every
`DatabagModel`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import StringConstraints

from ..databag import DatabagModel

# off: the application has no certificates relation (TLS not wanted there);
# pending: related, but not every unit holds a certificate (or units hold different CAs);
# ready: every unit holds a certificate from the CA named beside it.
TlsState = Literal["off", "pending", "ready"]
# One certificate's DER, base64 (the body of its PEM on one line).
Base64Der = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]+={0,2}$")]


class TlsUnitFields(DatabagModel):
    """One unit: the CA of the certificate it holds; both None while it holds none."""

    tls_ca_fingerprint: Optional[str] = None
    tls_ca_subject: Optional[str] = None


class TlsReportFields(DatabagModel):
    """One application, as its leader sees its units; no state at all from older charms."""

    tls_state: Optional[TlsState] = None
    tls_ca_fingerprint: Optional[str] = None
    tls_ca_subject: Optional[str] = None


class TlsSwitchFields(DatabagModel):
    """The deployment's TLS, decided by the controller leader; every charm renders from it."""

    ssl_enabled: bool = False
    ca_fingerprint: Optional[str] = None
    ca_subject: Optional[str] = None


class TlsPublishedCa(TlsSwitchFields):
    """`contrail-controller` provider data also carries the CA itself (public), for consumers
    that are not `tls-certificates` requirers (OpenStack, tools): the certificates of the CA
    file, signing CA first, each as the base64 DER of its PEM body (`certificate.ca_certs`),
    because no relation value may hold a line break. Empty while TLS is off."""

    ca_certs: list[Base64Der] = []
