"""The self-signed-certificates stand-in: what that charm writes on `tls-certificates` (v1).

It reads every requiring unit's `certificate_signing_requests` and answers in its application
databag with one `certificates` entry per CSR, signed by its own CA (built on the TLS library's
provider helpers, as the charm is). A CSR it signed once keeps its certificate, so re-reading the
same requests changes nothing; a withdrawn CSR's entry goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contrail_common.testing_tls import Entry, Issuer, provider_data, requested

CHARM = "self-signed-certificates"
ENDPOINT = "certificates"


class SelfSignedIssuer:
    """One self-signed-certificates application: its CA and what it has signed."""

    def __init__(self, common_name: str = "self-signed-certificates-operator") -> None:
        self.issuer = Issuer(common_name)
        self.signed: dict[str, Entry] = {}

    def answer(self, requirer_units: Iterable[Mapping[str, str]]) -> dict[str, str]:
        """The provider application databag for these requiring units' databags."""
        entries = []
        for bag in requirer_units:
            for csr in requested(bag):
                if csr not in self.signed:
                    self.signed[csr] = self.issuer.entry(csr)
                entries.append(self.signed[csr])
        return provider_data(entries)
