"""The skeleton every Contrail workload charm shares: one reconcile, one status.

A charm subclasses `ContrailCharm`, names its config model and peer endpoint, and implements
`gather()` (read its relations into typed inputs, listing what is missing), `services()` (the
containers for those inputs) and `publish()` (what its leader tells related applications).
Everything else — config validation, addresses, cluster membership, images, env files, the
engine, status, the `logs` action, cleanup on removal — happens here, once for all charms.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Optional, TypeVar, Union

import ops
from pydantic import BaseModel

from .cluster import Member, PeerAppData
from .config import InvalidConfigError, WorkloadConfig
from .containers import ApplyReport, ContainerEngine, EngineError, make_engine
from .databag import MalformedDatabagError, read_databag
from .evaluation import Cluster, ConfigT, Evaluation
from .hostpaths import HostRoot
from .membership import Targets, node_hostname
from .membership.component import PeerMembership
from .monitoring import cos, nrpe
from .monitoring.component import Monitoring, install_packages
from .monitoring.states import record_container_states
from .network import IPAddress, host_addresses, pick_address
from .rendering import EnvFileError, write_env_file
from .runtime import ensure_runtime
from .secrets import SecretProblem, registry_credentials
from .services import Placement, Service, container_spec
from .status import combine, container_problems
from .tls.component import ENDPOINT as CERTIFICATES
from .tls.component import TlsCertificates, TlsEvaluation
from .tls.env import with_tls
from .tls.names import local_hostnames, unit_names
from .tls.switch import OFF, Switch, unit_fields
from .upgrade.compose import make_upgrades
from .upgrade.workloads import TaggedWorkload
from .vip import ENDPOINT as VIP
from .vip import read_vip

logger = logging.getLogger(__name__)

__all__ = ["Cluster", "ContrailCharm", "Evaluation"]

ModelT = TypeVar("ModelT", bound=BaseModel)


class ContrailCharm(ops.CharmBase, Generic[ConfigT]):
    config_class: ClassVar[type[WorkloadConfig]]
    # None for charms without a cluster of their own (the CNI subordinate): then the unit is
    # its own one-member cluster and its address comes from `binding_endpoint`.
    peer_endpoint: ClassVar[Optional[str]]
    binding_endpoint: ClassVar[Optional[str]] = None
    node_role: ClassVar[str]
    # The image whose `version` label is shown as the workload version.
    version_image: ClassVar[str]
    ports: ClassVar[tuple[int, ...]] = ()
    # Options whose value picks the data-plane address (controller only).
    data_network_option: ClassVar[Optional[str]] = None
    # HTTP(S) endpoints Nagios checks on this unit's address (nrpe-external-master), besides
    # one check per container.
    http_checks: ClassVar[tuple[nrpe.HttpCheck, ...]] = ()
    # cos-agent: the 127.0.0.1 port of the unit's metrics exporter (one per charm, so units of
    # several Contrail charms can share a machine) and the introspect ports it reads peers from.
    metrics_port: ClassVar[int]
    introspects: ClassVar[tuple[cos.IntrospectPort, ...]] = ()
    # The redis services remote clients read (analytics'): a stunnel fronts each under TLS.
    tls_stunnel_for: ClassVar[tuple[str, ...]] = ()
    # The services whose own cluster keeps members, where the leader removes departed ones.
    membership_targets: ClassVar[Targets] = Targets()

    # Where host files live; tests point it at a scratch tree.
    host: ClassVar[HostRoot] = HostRoot()

    # Why StoredState: a failed pull or engine call is not derivable without retrying it, and
    # update-status must not retry; its message is kept until the next reconcile succeeds.
    # The runtime the containers were created on is kept too: finding it again would mean
    # querying every engine, and it must not change under running containers.
    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self._stored.set_default(deploy_error="", runtime="")
        self._evaluation: Optional[Evaluation[ConfigT]] = None
        self._removing = False
        # Components: each handles its own endpoints' events and is called at fixed places.
        # Membership first: a unit being removed must know it before any handler reconciles.
        self.membership: Optional[PeerMembership] = None
        if self.peer_endpoint:
            self.membership = PeerMembership(self, self.peer_endpoint, self.membership_targets)
        self.monitoring = Monitoring(self, self.project, self.host)
        self.upgrades = make_upgrades(self)
        self.tls: Optional[TlsCertificates] = None
        if CERTIFICATES in self.meta.relations:
            self.tls = TlsCertificates(self, self.project, self.host, self.reconcile)
        owned = (
            *self.monitoring.endpoints,
            *(self.tls.endpoints if self.tls else ()),
            *(self.membership.endpoints if self.membership else ()),
        )
        for event in (
            self.on.install,
            self.on.config_changed,
            self.on.upgrade_charm,
            self.on.leader_elected,
            self.on.secret_changed,
        ):
            framework.observe(event, self._on_change)
        for endpoint in self.meta.relations:
            if endpoint in owned:
                continue
            relation_events = self.on[endpoint]
            for event in (
                relation_events.relation_created,
                relation_events.relation_joined,
                relation_events.relation_changed,
                relation_events.relation_departed,
                relation_events.relation_broken,
            ):
                framework.observe(event, self._on_change)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)
        # Observed after every component's: the leader's application status falls back to a
        # plain active (a status nobody sets again keeps its last message), and ops keeps the
        # first of equal rank, so a component's active message wins over it.
        framework.observe(self.on.collect_app_status, self._on_collect_app_status)
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.logs_action, self._on_logs_action)

    # -- what each charm provides ------------------------------------------------------------

    def gather(self, config: ConfigT, cluster: Cluster) -> tuple[Any, list[ops.StatusBase]]:
        """Read the charm's relations into its workload inputs; list what is missing."""
        raise NotImplementedError

    def services(self, config: ConfigT, cluster: Cluster, inputs: Any) -> list[Service]:
        """The containers for these inputs."""
        raise NotImplementedError

    def publish(self, evaluation: Evaluation[ConfigT]) -> None:
        """Leader only: write what related applications need (gated by the cluster size)."""

    def data_address(
        self, config: ConfigT, address: str, problems: list[ops.StatusBase]
    ) -> Optional[str]:
        """This unit's data-plane address: from `data_network_option` if set, else `address`."""
        if not self.data_network_option:
            return address
        return self._address(config, self.data_network_option, problems) or address

    def active_notes(self, evaluation: Evaluation[ConfigT]) -> list[str]:
        """Warnings that do not block but belong in the active message."""
        return []

    def workload_checks(self, evaluation: Evaluation[ConfigT]) -> list[ops.StatusBase]:
        """Charm-specific health beyond container states (files in place, reachability).

        Called on every collect-status once the unit is ready; must only read.
        """
        return []

    def publish_unit(self, evaluation: Evaluation[ConfigT]) -> None:
        """Every unit: write this unit's own facts into its relation databags."""

    def leader_setup(self, peer: ops.Relation, data: PeerAppData) -> PeerAppData:
        """Leader only: cluster-wide facts to create once (e.g. generated secrets)."""
        return data

    def published_switch(self) -> Switch:
        """The deployment's TLS as the controller leader published it to this unit."""
        return OFF

    # -- the host, through methods tests replace ------------------------------------------

    def make_engine(self, kind: str) -> ContainerEngine:
        return make_engine(kind, self.host)

    def host_addresses(self) -> list[IPAddress]:
        return host_addresses()

    def install_runtime(self, kind: str) -> str:
        return ensure_runtime(kind, self.host)

    def systemctl_runner(self) -> nrpe.Runner:
        """Runs `systemctl` (nagios-nrpe-server restarts, the metrics exporter's service)."""
        return subprocess.run

    def install_packages(self, names: Sequence[str]) -> None:
        """Install Ubuntu packages (the metrics exporter's python3-prometheus-client)."""
        install_packages(names)

    def resolve_hostname(self, address: str) -> Optional[str]:
        """The short name `address` resolves to, as the RabbitMQ entrypoint finds it."""
        return node_hostname(address)

    # -- reading relations -------------------------------------------------------------------

    def require_relation(
        self, endpoint: str, problems: list[ops.StatusBase], remote: str = ""
    ) -> Optional[ops.Relation]:
        """The relation on `endpoint`, or a Blocked status saying how to create it."""
        relation = self.model.get_relation(endpoint)
        if relation is None:
            problems.append(
                ops.BlockedStatus(
                    f"missing relation: {endpoint} "
                    f"(juju integrate {self.app.name} {remote or endpoint})"
                )
            )
        return relation

    def read_app_data(
        self, relation: ops.Relation, model: type[ModelT], problems: list[ops.StatusBase]
    ) -> Optional[ModelT]:
        """A remote application's databag; a malformed one is reported, not raised."""
        if relation.app is None:
            return None
        return self._read_remote(relation, relation.app, relation.app.name, model, problems)

    def read_unit_data(
        self,
        relation: ops.Relation,
        unit: ops.Unit,
        model: type[ModelT],
        problems: list[ops.StatusBase],
    ) -> Optional[ModelT]:
        """A remote unit's databag; a malformed one is reported, not raised."""
        return self._read_remote(relation, unit, unit.app.name, model, problems)

    def _read_remote(
        self,
        relation: ops.Relation,
        owner: Union[ops.Application, ops.Unit],
        app_name: str,
        model: type[ModelT],
        problems: list[ops.StatusBase],
    ) -> Optional[ModelT]:
        try:
            return read_databag(relation, owner, model)
        except MalformedDatabagError as error:
            problems.append(ops.BlockedStatus(f"{error}: fix or upgrade {app_name}"))
            return None

    def read_published(
        self,
        relation: ops.Relation,
        model: type[ModelT],
        problems: list[ops.StatusBase],
        published: Callable[[ModelT], object],
    ) -> Optional[ModelT]:
        """A remote application's databag once `published(data)` holds; until then Waiting
        naming the application, and Blocked (by read_app_data) when it is malformed."""
        reported = len(problems)
        data = self.read_app_data(relation, model, problems)
        if len(problems) > reported:
            return None
        if data is None or not published(data):
            if relation.app is not None:
                problems.append(
                    ops.WaitingStatus(f"waiting for {relation.app.name} to publish its addresses")
                )
            return None
        return data

    def peer_app_data(self) -> PeerAppData:
        """What the leader keeps on the peer relation (empty until it first writes)."""
        return self.membership.app_data() if self.membership else PeerAppData()

    def runtime_kind(self, config: WorkloadConfig) -> str:
        """The engine of this unit's containers: the one they were created on, if any."""
        return str(self._stored.runtime) or config.container_runtime

    # -- identity and places -----------------------------------------------------------------

    @property
    def project(self) -> str:
        """The engine project of this unit: its containers and nothing else."""
        return self.unit.name.replace("/", "-")

    @property
    def env_dir(self):
        return self.host.path("/etc/contrail") / self.project

    @property
    def peer(self) -> Optional[ops.Relation]:
        return self.model.get_relation(self.peer_endpoint) if self.peer_endpoint else None

    # -- evaluation: read everything, change nothing ---------------------------------------

    def evaluate(self) -> Evaluation[ConfigT]:
        if self._evaluation is None:
            self._evaluation = self._evaluate()
        return self._evaluation

    def _evaluate(self) -> Evaluation[ConfigT]:
        evaluation: Evaluation[ConfigT] = Evaluation()
        try:
            config: ConfigT = self.config_class.load(self.config)  # type: ignore[assignment]
        except InvalidConfigError as error:
            evaluation.problems.append(ops.BlockedStatus(str(error)))
            return evaluation
        evaluation.config = config
        deployed_on = str(self._stored.runtime)
        if deployed_on and config.container_runtime not in ("auto", deployed_on):
            evaluation.problems.append(
                ops.BlockedStatus(
                    f"container-runtime: the containers run on {deployed_on}; it cannot change "
                    f"after deploy (set it back to {deployed_on} or auto, or redeploy the unit)"
                )
            )
        if not config.image_tag:
            evaluation.problems.append(
                ops.BlockedStatus(
                    f"image-tag: set the Contrail release to run "
                    f"(juju config {self.app.name} image-tag=<tag>)"
                )
            )
        if config.registry_credentials:
            try:
                evaluation.credentials = registry_credentials(
                    self.model, "registry-credentials", config.registry_credentials
                )
            except SecretProblem as error:
                evaluation.problems.append(ops.BlockedStatus(str(error)))
        cluster = self._cluster(config, evaluation.problems)
        if cluster is None:
            return evaluation
        evaluation.cluster = cluster
        evaluation.tls = self._evaluate_tls(cluster)
        evaluation.problems.extend(evaluation.tls.problems)
        evaluation.upgrade = self.upgrades.evaluate(config)
        try:
            evaluation.inputs, problems = self.gather(config, cluster)
        except MalformedDatabagError as error:
            problems = [ops.BlockedStatus(str(error))]
        evaluation.problems.extend(problems)
        return evaluation

    def _evaluate_tls(self, cluster: Cluster) -> TlsEvaluation:
        """The unit's certificate for its addresses (and the VIP keepalived holds for it, when
        the charm has one) under the published switch; a leader also sums up its application
        for the controller (units on different CAs: a note)."""
        if self.tls is None:
            return TlsEvaluation()
        vip = read_vip(self.model.get_relation(VIP)).vip if VIP in self.meta.relations else None
        names = unit_names(
            cluster.address,
            cluster.data_address,
            vip=vip.address if vip else None,
            hostnames=[*local_hostnames(), *([vip.hostname] if vip and vip.hostname else [])],
        )
        result = self.tls.evaluate(names, self.published_switch())
        if self.unit.is_leader():
            result.report, problems = self.tls.report(self.peer, result.ca)
            result.notes.extend(problem.message for problem in problems)
        return result

    def _cluster(self, config: ConfigT, problems: list[ops.StatusBase]) -> Optional[Cluster]:
        peer = self.peer
        if peer is None and self.peer_endpoint is not None:
            problems.append(ops.WaitingStatus("waiting for the peer relation"))
            return None
        address = self._address(config, "control-network", problems)
        if address is None:
            return None
        data_address = self.data_address(config, address, problems)
        if data_address is None:
            return None
        if self.membership is None:
            alone = [Member(unit=self.unit.name, address=address, data_address=data_address)]
            return Cluster(address, data_address, alone, 1)
        return self.membership.cluster(config, address, data_address, problems)

    def _address(
        self, config: ConfigT, option: str, problems: list[ops.StatusBase]
    ) -> Optional[str]:
        networks = getattr(config, option.replace("-", "_"), ())
        if networks:
            found = pick_address(networks, self.host_addresses())
            if found is None:
                listed = ", ".join(str(n) for n in networks)
                problems.append(
                    ops.BlockedStatus(f"{option}: no address of this unit is in {listed}")
                )
            return None if found is None else str(found)
        endpoint = self.binding_endpoint or self.peer_endpoint
        binding = self.model.get_binding(endpoint) if endpoint else None
        address = binding.network.bind_address if binding else None
        if address is None:
            problems.append(ops.WaitingStatus("waiting for a network binding address"))
            return None
        return str(address)

    # -- reconcile: make it so ------------------------------------------------------------------

    def _on_change(self, _event: ops.EventBase) -> None:
        self.reconcile()

    def reconcile(self) -> Optional[ApplyReport]:
        """Publish this unit's facts, lead if leader, and deploy when nothing is missing."""
        self._evaluation = None
        evaluation = self.evaluate()
        # This unit's facts, and as leader the members: evaluate again once they changed.
        if self.membership and self.membership.apply(evaluation, unit_fields(evaluation.tls.ca)):
            self._evaluation = None
            evaluation = self.evaluate()
        self._apply_tls(evaluation)
        ready_to_publish = evaluation.config is not None and evaluation.cluster is not None
        if self.unit.is_leader() and ready_to_publish:
            if self.upgrades.lead(evaluation):  # the plan moved: so may this unit's tags
                self._evaluation = None
                evaluation = self.evaluate()
                self._apply_tls(evaluation)
            self.publish(evaluation)
            self.upgrades.publish(evaluation)
            if self.tls is not None and self.published_switch() != evaluation.tls.switch:
                # The controller leader has just turned TLS on or off: deploy under it now.
                self._evaluation = None
                evaluation = self.evaluate()
                self._apply_tls(evaluation)
        if ready_to_publish:
            self.publish_unit(evaluation)
        report = self._deploy(evaluation) if evaluation.ready else None
        if not evaluation.ready:
            self.upgrades.report(evaluation, None, None)
        self.monitoring.apply(evaluation)
        if self.upgrades.again(evaluation):  # the leader's own report moved its plan on
            return self.reconcile()
        return report

    def _apply_tls(self, evaluation: Evaluation[ConfigT]) -> None:
        """The CSR sent or replaced and the files written, before anything is deployed."""
        if self.tls is not None:
            evaluation.problems.extend(self.tls.apply(evaluation.tls))

    def _deploy(self, evaluation: Evaluation[ConfigT]) -> Optional[ApplyReport]:
        config, cluster = evaluation.config, evaluation.cluster
        assert config is not None and cluster is not None
        try:
            kind = str(self._stored.runtime) or self.install_runtime(config.container_runtime)
            self._stored.runtime = kind
            engine = self.make_engine(kind)
            planned = self._workload(evaluation, kind)
            if planned.violations:  # a container would exit or misbehave: create none
                raise EngineError(f"image contract: {planned.violations[0]}")
            services = planned.services
            placement = Placement(
                kind, self.node_role, self.app.name, self.unit.name, self.env_dir
            )
            specs = []
            for service in services:
                image = planned.images[service.name]
                if engine.inspect_image(image) is None:
                    self.unit.status = ops.MaintenanceStatus(f"pulling {image}")
                    engine.pull(
                        image, evaluation.credentials, plain_http=config.docker_registry_insecure
                    )
                self._write_env_file(service, config)
                specs.append(container_spec(service, image, placement))
            report = engine.apply(self.project, specs)
            self._remove_stale_env_files({s.name for s in services})
            if report.changed:
                logger.info(
                    "containers created %s, re-created %s, removed %s",
                    report.created, report.recreated, report.removed,
                )  # fmt: skip
            self.unit.set_ports(*self.ports)
            version = engine.inspect_image(self._version_image(config, planned))
            if version is not None and version.version:
                self.unit.set_workload_version(version.version)
            self._stored.deploy_error = ""
            prepared, pull_error = self.upgrades.prepare(engine, evaluation)
            self.upgrades.report(evaluation, engine, planned, prepared=prepared, error=pull_error)
            return report
        except EngineError as error:
            logger.error("deploy failed: %s", error)
            self._stored.deploy_error = str(error)
            self.upgrades.report(evaluation, None, None, error=str(error))
            return None

    def _version_image(self, config: ConfigT, planned: TaggedWorkload) -> str:
        """The version image on the tag its service runs now (an upgrade may move it)."""
        for service in planned.services:
            if service.image == self.version_image:
                return planned.images[service.name]
        return config.image(self.version_image)

    def _write_env_file(self, service: Service, config: ConfigT) -> None:
        """The options and relation data are checked before this; a value that still would not
        read back as written blocks the deploy instead of failing the hook."""
        try:
            write_env_file(
                self.env_dir / f"{service.name}.env", {**config.proxy_env(), **service.env}
            )
        except EnvFileError as error:
            raise EngineError(
                f"{service.name}.env: {error}; fix the option, secret or relation data it "
                "comes from"
            ) from None

    def _remove_stale_env_files(self, wanted: set[str]) -> None:
        for path in self.env_dir.glob("*.env"):
            if path.stem not in wanted:
                path.unlink()

    # -- status -------------------------------------------------------------------------------

    def expected_services(self) -> list[Service]:
        evaluation = self.evaluate()
        if not evaluation.ready:
            return []
        assert evaluation.config is not None
        return self._workload(evaluation, self.runtime_kind(evaluation.config)).services

    def render(self, evaluation: Evaluation[ConfigT]) -> Callable[[ConfigT], list[Service]]:
        """The charm's services for a configuration, as this evaluation runs them (its cluster,
        inputs and TLS): an upgrade renders them once per image tag its units run."""
        cluster, inputs, material = evaluation.cluster, evaluation.inputs, evaluation.tls.material
        assert cluster is not None
        return lambda config: with_tls(
            self.services(config, cluster, inputs), config.release, material, self.tls_stunnel_for
        )

    def _workload(self, evaluation: Evaluation[ConfigT], kind: str) -> TaggedWorkload:
        """The services to run now, each on the tag the upgrade gives its role."""
        return self.upgrades.workload(evaluation, kind)

    def _on_collect_app_status(self, event: ops.CollectStatusEvent) -> None:
        if self.unit.is_leader():
            event.add_status(ops.ActiveStatus())

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        evaluation = self.evaluate()
        statuses: list[ops.StatusBase] = [*evaluation.problems, *self.monitoring.statuses()]
        if self.membership:
            statuses.extend(self.membership.statuses(evaluation.config))
        statuses.extend(self.upgrades.statuses(evaluation))
        # The services and their notes, worked out once for this status pass.
        planned = None
        if evaluation.ready and evaluation.config is not None:
            planned = self._workload(evaluation, self.runtime_kind(evaluation.config))
        if self._stored.deploy_error:
            statuses.append(ops.BlockedStatus(str(self._stored.deploy_error)))
        elif planned is not None:
            statuses.extend(self._container_statuses(evaluation, planned.services))
            statuses.extend(self.workload_checks(evaluation))
        ready = "Unit is ready"
        if evaluation.config is not None and evaluation.config.unpinned:
            ready += f" (unpinned image tag {evaluation.config.image_tag})"
        if planned is not None:
            notes = [*planned.notes, *evaluation.tls.notes, *self.upgrades.notes(evaluation)]
            notes += self.active_notes(evaluation)
            if self.membership:
                notes += self.membership.notes(evaluation.config)
            ready = "; ".join([ready, *notes])
        event.add_status(combine(statuses, active_message=ready))

    def _container_statuses(
        self, evaluation: Evaluation[ConfigT], services: Sequence[Service]
    ) -> Sequence[ops.StatusBase]:
        assert evaluation.config is not None
        try:
            engine = self.make_engine(self.runtime_kind(evaluation.config))
            states = engine.status(self.project, [s.name for s in services])
        except EngineError as error:
            return [ops.WaitingStatus(f"container engine: {error}")]
        one_shot = {s.name for s in services if s.one_shot}
        if not self._removing and self.monitoring.monitored:
            try:
                record_container_states(self.host, self.project, states, one_shot)
            except OSError as error:
                logger.warning("could not record container states for the monitors: %s", error)
        return container_problems(states, completed_ok=one_shot)

    # -- removal and actions -----------------------------------------------------------------

    def _on_remove(self, _event: ops.RemoveEvent) -> None:
        # On remove, not stop: the unit is going away for good, so its containers and env
        # files go too. Named volumes (databases) are left for the operator to decide.
        try:
            config = self.config_class.load(self.config)
            self.make_engine(self.runtime_kind(config)).remove_project(self.project)
        except (InvalidConfigError, EngineError) as error:
            logger.warning("could not remove containers: %s", error)
        shutil.rmtree(self.env_dir, ignore_errors=True)
        self.monitoring.remove()
        if self.tls is not None:
            self.tls.remove()
        self._removing = True  # the status pass that follows records nothing again

    def _on_logs_action(self, event: ops.ActionEvent) -> None:
        name = event.params.get("container", "")
        lines = int(event.params.get("lines", 100))
        try:
            config = self.config_class.load(self.config)
            engine = self.make_engine(self.runtime_kind(config))
            if not name:
                states = engine.status(self.project)
                event.set_results({"containers": "\n".join(s.describe() for s in states.values())})
                return
            event.set_results({"logs": engine.logs(self.project, name, lines)})
        except (InvalidConfigError, EngineError) as error:
            event.fail(str(error))
