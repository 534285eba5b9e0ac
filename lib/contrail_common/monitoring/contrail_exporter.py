#!/usr/bin/env python3
"""Prometheus exporter for one Contrail unit: its containers and its peer sessions.

Contrail's daemons expose no Prometheus endpoint of their own, so the charms run this small
exporter (one systemd service per unit, bound to 127.0.0.1) for the COS agent to scrape:

- the container states the charm records on every status pass (the file the Nagios check
  reads: names, states, exit codes), so it needs no root and never talks to the engine;
- the BGP and XMPP sessions from the introspect port of the control node or vRouter agent on
  the unit's own address, read at scrape time.

Installed by the charms under /usr/local/lib/contrail-charms/exporter with its two sibling
modules and run by the system python3 with Debian's python3-prometheus-client.

    contrail_exporter.py --listen 127.0.0.1:PORT --state-file FILE
                         [--introspect control=http://ADDRESS:8083] [...]
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Optional

from prometheus_client import start_http_server
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric

if TYPE_CHECKING or __package__:
    from . import introspect
    from .check_contrail_container import OK, evaluate
else:  # run as an installed script, its siblings beside it
    import introspect
    from check_contrail_container import OK, evaluate

logger = logging.getLogger("contrail_exporter")

# Every state a container can be in: each is exported with 1 for the current one, 0 otherwise,
# so a state change never starts a new series.
STATES = ("running", "restarting", "exited", "created", "paused", "missing")


class ContrailCollector:
    """Builds the metric families afresh on every scrape."""

    def __init__(
        self,
        state_file: str,
        introspects: Sequence[tuple[str, str]] = (),
        fetch: introspect.Fetch = introspect.http_fetch,
        timeout: float = 5.0,
    ) -> None:
        self.state_file = state_file
        self.introspects = list(introspects)
        self.fetch, self.timeout = fetch, timeout

    def collect(self) -> Iterator[Metric]:
        yield from self._container_metrics(self._read_states())
        yield from self._peer_metrics()

    def _read_states(self) -> Optional[dict[str, Any]]:
        try:
            with open(self.state_file, encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError) as error:
            logger.debug("no container states in %s: %s", self.state_file, error)
            return None
        if not isinstance(record, dict) or not isinstance(record.get("containers"), dict):
            return None
        return record

    def _container_metrics(self, record: Optional[dict[str, Any]]) -> Iterator[Metric]:
        recorded = GaugeMetricFamily(
            "contrail_container_states_recorded",
            "1 when the charm's record of container states could be read",
        )
        recorded.add_metric([], 1.0 if record is not None else 0.0)
        yield recorded
        if record is None:
            return
        stamp = record.get("recorded_at")
        if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
            when = GaugeMetricFamily(
                "contrail_container_states_timestamp_seconds",
                "When the charm last recorded the container states (Unix time)",
            )
            when.add_metric([], float(stamp))
            yield when
        up = GaugeMetricFamily(
            "contrail_container_up",
            "1 when the container runs (or a one-shot container completed), else 0",
            labels=["container"],
        )
        state = GaugeMetricFamily(
            "contrail_container_state",
            "1 for the container's current state, 0 for the others",
            labels=["container", "state"],
        )
        exit_code = GaugeMetricFamily(
            "contrail_container_exit_code",
            "The container's last exit code, when it has exited",
            labels=["container"],
        )
        for name, entry in sorted(record["containers"].items()):
            if not isinstance(entry, dict):
                continue
            code, _message = evaluate(record, name, max_age=float("inf"), now=0.0)
            up.add_metric([name], 1.0 if code == OK else 0.0)
            current = str(entry.get("state", ""))
            for candidate in STATES:
                state.add_metric([name, candidate], 1.0 if candidate == current else 0.0)
            last = entry.get("exit_code")
            if isinstance(last, int) and not isinstance(last, bool):
                exit_code.add_metric([name], float(last))
        yield from (up, state, exit_code)

    def _peer_metrics(self) -> Iterator[Metric]:
        if not self.introspects:
            return
        reachable = GaugeMetricFamily(
            "contrail_introspect_up",
            "1 when the service's introspect port answered this scrape",
            labels=["service"],
        )
        families = {
            kind: GaugeMetricFamily(
                f"contrail_{kind}_peer_up",
                f"1 when the {kind.upper()} session is Established, else 0",
                # No state label: a session cycling through Idle, Connect and Active is one
                # series, so an alert on it can last.
                labels=["service", "peer", "address"],
            )
            for kind in ("bgp", "xmpp")
        }
        for service, base in self.introspects:
            try:
                peers = introspect.READERS[service](base, self.fetch, self.timeout)
            except introspect.IntrospectError as error:
                logger.warning("%s introspect: %s", service, error)
                reachable.add_metric([service], 0.0)
                continue
            reachable.add_metric([service], 1.0)
            for peer in peers:
                labels = [service, peer.name, peer.address]
                families[peer.kind].add_metric(labels, 1.0 if peer.up else 0.0)
        yield reachable
        yield from families.values()


def _introspect_target(text: str) -> tuple[str, str]:
    service, _, base = text.partition("=")
    if service not in introspect.READERS or not base.startswith("http://"):
        known = ", ".join(sorted(introspect.READERS))
        raise argparse.ArgumentTypeError(
            f"expected SERVICE=http://ADDRESS:PORT, SERVICE in {known}"
        )
    return service, base.rstrip("/")


def _listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("expected ADDRESS:PORT")
    return host.strip("[]"), int(port)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Prometheus exporter for one Contrail unit")
    parser.add_argument("--listen", type=_listen_address, required=True)
    parser.add_argument("--state-file", required=True)
    parser.add_argument("--introspect", type=_introspect_target, action="append", default=[])
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    registry = CollectorRegistry()
    registry.register(ContrailCollector(args.state_file, args.introspect, timeout=args.timeout))
    address, port = args.listen
    start_http_server(port, addr=address, registry=registry)
    logger.info("serving metrics on %s:%d", address, port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
