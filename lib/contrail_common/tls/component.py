"""`TlsCertificates`: the `certificates` endpoint as a component the base charm composes.

The base calls, on every reconcile:

1. `evaluate(names, switch)`, which only reads: the certificate the provider issued for the
   unit's current names, the files on disk, and the deployment's published switch. It returns
   a `TlsEvaluation`: what the containers get (`material`), what keeps the unit from deploying
   (`problems`), what the active message adds (`notes`) and the CA the unit reports (`ca`).
2. `apply(evaluation)`, the writes, before anything is published or deployed: it lets the TLS
   library send or replace the unit's CSR (the names may have changed), then makes the files
   hold what `evaluate` chose. It returns problems to add (a file that could not be written).

The TLS library (charmlibs `TLSCertificatesRequiresV4`, unit mode, RSA) keeps the private key in
a Juju secret of the unit, sends only the CSR, and renews before expiry. Every event of the
endpoint calls `on_change` (the base's reconcile) once, after the library's own handler has
run; the base leaves this endpoint's events to the component (`endpoints`), as it does nrpe's
and cos-agent's. The library's certificate_available and certificate_denied are not observed:
it emits them from inside its handler, one per certificate, and each only repeats what the
relation data (read by `evaluate`) already says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional, Union

import ops
from charmlibs.interfaces import tls_certificates as tls

from ..databag import MalformedDatabagError, read_databag
from ..hostpaths import HostRoot
from . import files
from .certificate import CaIdentity, CertificateBundle, CertificateProblem, bundle
from .env import OFF as MATERIAL_OFF
from .env import TlsMaterial
from .fields import TlsReportFields, TlsSwitchFields, TlsUnitFields
from .names import UnitNames, certificate_request
from .switch import OFF, AppTls, Switch, application_tls, unit_fields

logger = logging.getLogger(__name__)

ENDPOINT = "certificates"


@dataclass
class TlsEvaluation:
    """One look at the certificate, the files and the switch."""

    related: bool = False
    provider: str = ""
    switch: Switch = field(default_factory=Switch)
    material: TlsMaterial = MATERIAL_OFF
    problems: list[ops.StatusBase] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The CA of the newest usable certificate the unit holds (written, or held back while the
    # deployment still trusts another CA); None while it holds none.
    ca: Optional[CaIdentity] = None
    files: Optional[CertificateBundle] = field(default=None, repr=False)
    remove_files: bool = False
    # Leader only: what it reports for the whole application (`report`).
    report: Optional[AppTls] = None

    def report_fields(self) -> dict[str, object]:
        """The leader's `TlsReportFields` values to publish; none without a report."""
        return self.report.fields() if self.report is not None else {}


class TlsCertificates(ops.Object):
    """The unit's certificate from any `tls-certificates` provider, as the files it runs with."""

    def __init__(
        self,
        charm: ops.CharmBase,
        module: str,
        host: HostRoot,
        on_change: Callable[[], object],
        endpoint: str = ENDPOINT,
        key_group: int = files.CONTAINER_GROUP,
    ) -> None:
        super().__init__(charm, endpoint)
        self.endpoint = endpoint
        self.module = module
        self.host = host
        self.key_group = key_group
        self._on_change = on_change
        self._names: Optional[UnitNames] = None
        self.requirer = tls.TLSCertificatesRequiresV4(
            charm,
            endpoint,
            certificate_requests=self._requests,
            mode=tls.Mode.UNIT,
            key_algorithm=tls.KeyAlgorithm.RSA,
        )
        # After the library's own handlers (observed first, in its constructor): the reconcile
        # sees the key it generated and sends the CSR it could not, not knowing the names.
        relation = charm.on[endpoint]
        for event in (
            relation.relation_created,
            relation.relation_changed,
            relation.relation_broken,
        ):
            self.framework.observe(event, self._changed)

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The endpoints whose events this component handles (the base skips them)."""
        return (self.endpoint,)

    @property
    def related(self) -> bool:
        """Whether the application has a certificates provider (its leader's report says off
        without one)."""
        return self.model.get_relation(self.endpoint) is not None

    # -- evaluate: read only ------------------------------------------------------------------

    def evaluate(self, names: Optional[UnitNames], switch: Switch) -> TlsEvaluation:
        """What the unit's TLS is now and should be; `names` None while addresses are unknown."""
        self._names = names
        relation = self.model.get_relation(self.endpoint)
        result = TlsEvaluation(related=relation is not None, switch=switch)
        if relation is not None and relation.app is not None:
            result.provider = relation.app.name
        provider = result.provider or "the certificates provider"
        try:
            on_disk = files.read_bundle(self.host, self.module)
        except OSError as error:
            result.problems.append(
                ops.BlockedStatus(f"TLS: cannot read the certificate files: {error}")
            )
            return result
        issued = None
        if relation is not None and _legacy_provider(relation):
            result.problems.append(
                ops.BlockedStatus(
                    f"TLS: {provider} answers no certificate requests (easyrsa's legacy "
                    "tls-certificates protocol): relate self-signed-certificates, vault or "
                    "manual-tls-certificates instead"
                )
            )
        elif relation is not None:
            issued = self._issued(result, names, provider, on_disk is not None)

        if issued is not None and (not switch.enabled or switch.ca in (None, issued.ca_identity)):
            result.files = issued
        elif issued is not None:
            result.files = on_disk
            if on_disk is not None:
                result.notes.append(
                    f"TLS: certificate from {issued.ca_identity.label} held until every "
                    "application has one"
                )
        elif relation is None and not switch.enabled:
            result.remove_files = on_disk is not None
        else:
            result.files = on_disk  # kept while the switch is on: TLS goes off in order
        if relation is not None:
            newest = issued or result.files
            result.ca = newest.ca_identity if newest is not None else None
        self._material(result, issued, provider)
        return result

    def _issued(
        self, result: TlsEvaluation, names: Optional[UnitNames], provider: str, serving: bool
    ) -> Optional[CertificateBundle]:
        """The usable certificate the provider issued for the current names, if any."""
        capabilities = self.requirer.get_provider_capabilities()
        if capabilities is not None and capabilities.supports_ip_sans is False:
            result.problems.append(
                ops.BlockedStatus(
                    f"TLS: {provider} issues no IP address names, and Contrail's peers connect "
                    "by address: use self-signed-certificates, vault or manual-tls-certificates"
                )
            )
            return None
        if names is None:
            return None
        request = certificate_request(names)
        assigned, key = self.requirer.get_assigned_certificate(request)
        if assigned is None or key is None or assigned.revoked:
            self._why_not_issued(result, request, provider, serving)
            return None
        try:
            return bundle(
                str(assigned.certificate),
                str(assigned.ca),
                [str(c) for c in assigned.chain],
                str(key),
            )
        except CertificateProblem as problem:
            result.problems.append(ops.BlockedStatus(f"TLS: {provider}: {problem}"))
            return None

    def _why_not_issued(
        self,
        result: TlsEvaluation,
        request: tls.CertificateRequestAttributes,
        provider: str,
        serving: bool,
    ) -> None:
        requested = [
            csr
            for csr in self.requirer.get_csrs_from_requirer_relation_data()
            if tls.CertificateRequestAttributes.from_csr(
                csr.certificate_signing_request, csr.is_ca
            )
            == request
        ]
        for csr in requested:
            error = self.requirer.get_request_error(csr.certificate_signing_request)
            if error is not None:
                result.problems.append(
                    ops.BlockedStatus(
                        f"TLS: {provider} denied the certificate request: {error.error.message}"
                    )
                )
                return
        if serving:
            # New names, a renewal or a new relation: the files on disk serve meanwhile.
            result.notes.append(f"TLS: new certificate requested from {provider}")
        else:
            result.notes.append(f"TLS: waiting for a certificate from {provider}")

    def _material(
        self, result: TlsEvaluation, issued: Optional[CertificateBundle], provider: str
    ) -> None:
        """What the containers get: nothing while the switch is off; on, the files or a wait."""
        if not result.switch.enabled:
            if result.related and result.files is not None and not result.notes:
                result.notes.append("TLS: certificate ready, off until every application has one")
            return
        # A certificate held back (from another CA than the deployment's) counts as this unit's.
        current = result.files or issued
        if current is None:
            if result.related:
                result.problems.append(
                    ops.WaitingStatus(f"TLS is on: waiting for a certificate from {provider}")
                )
            else:
                result.problems.append(
                    ops.BlockedStatus(
                        f"TLS is on for the deployment: relate {self.model.app.name}:"
                        f"{self.endpoint} to the provider the other applications use"
                    )
                )
            return
        ca = current.ca_identity
        if result.switch.ca is not None and ca != result.switch.ca:
            result.problems.append(
                ops.BlockedStatus(
                    f"TLS: this unit's certificate is from {ca.label}, the deployment's CA is "
                    f"{result.switch.ca.label}: relate {self.model.app.name}:{self.endpoint} to "
                    "the provider the other applications use"
                )
            )
            return
        if result.files is not None:
            digest = result.files.public_hash
            result.material = TlsMaterial(True, files.module_dir(self.module), digest)

    # -- apply: the writes --------------------------------------------------------------------

    def apply(self, evaluation: TlsEvaluation) -> list[ops.StatusBase]:
        """Send or replace the CSR, then make the files hold what `evaluate` chose."""
        try:
            if evaluation.related:
                self.requirer.sync()
            if evaluation.files is not None:
                if files.write_bundle(self.host, self.module, evaluation.files, self.key_group):
                    logger.info("certificate files of %s written", self.module)
            elif evaluation.remove_files and files.remove_bundle(self.host, self.module):
                logger.info("certificate files of %s removed", self.module)
        except OSError as error:
            logger.error("could not write the certificate files: %s", error)
            evaluation.ca = None
            return [ops.BlockedStatus(f"TLS: cannot write the certificate files: {error}")]
        return []

    def remove(self) -> None:
        """The unit is going: its certificate files go with it."""
        if files.remove_bundle(self.host, self.module):
            logger.info("certificate files of %s removed", self.module)

    # -- what a leader reports ----------------------------------------------------------------

    def report(
        self, peer: Optional[ops.Relation], own: Optional[CaIdentity]
    ) -> tuple[AppTls, list[ops.StatusBase]]:
        """Leader: the application's TLS from its own CA (`own`, as evaluated in this hook) and
        every other unit's report on the peer relation."""
        units: dict[str, Optional[TlsUnitFields]] = {
            self.model.unit.name: TlsUnitFields.model_validate(unit_fields(own))
        }
        if peer is not None:
            for unit in peer.units:
                units[unit.name] = _read(peer, unit, TlsUnitFields)
        return application_tls(self.model.app.name, self.related, units)

    # -- the library's requests and events ----------------------------------------------------

    def _requests(
        self, _capabilities: Optional[tls.ProviderCapabilities]
    ) -> list[tls.CertificateRequestAttributes]:
        """The request for the names of this hook's evaluation; before one (the library's own
        handlers run first on its relation's events), what the unit requested already, so a
        hook that cannot work out the names never withdraws the unit's CSR."""
        if self._names is not None:
            return [certificate_request(self._names)]
        return [
            tls.CertificateRequestAttributes.from_csr(csr.certificate_signing_request, csr.is_ca)
            for csr in self.requirer.get_csrs_from_requirer_relation_data()
        ]

    def _changed(self, _event: ops.EventBase) -> None:
        self._on_change()


# What easyrsa (layer-easyrsa, the reactive tls-certificates v0 provider) writes into its unit
# databags; a v1 provider writes `certificates` into its application databag instead.
_LEGACY_KEYS = frozenset({"ca", "client.cert", "client.key"})


def _legacy_provider(relation: ops.Relation) -> bool:
    if relation.app is not None and "certificates" in relation.data[relation.app]:
        return False
    return any(_LEGACY_KEYS & set(relation.data[unit]) for unit in relation.units)


def read_switch(
    relation: Optional[ops.Relation], owner: Union[ops.Application, ops.Unit, None] = None
) -> Switch:
    """The deployment's switch as published in `relation`'s databag of `owner` (the remote
    application unless given); off when absent or malformed (the reader of the whole databag
    reports a malformed one)."""
    if relation is None:
        return OFF
    return Switch.from_fields(_read(relation, owner or relation.app, TlsSwitchFields))


def read_report(relation: ops.Relation) -> AppTls:
    """What the remote application's leader reported about its TLS (nothing yet: state None)."""
    app = relation.app.name if relation.app is not None else relation.name
    return AppTls.from_fields(app, _read(relation, relation.app, TlsReportFields))


def _read(relation: ops.Relation, owner, model):
    if owner is None:
        return None
    try:
        return read_databag(relation, owner, model)
    except MalformedDatabagError:
        return None
