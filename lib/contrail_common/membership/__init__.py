"""Cluster membership with permanent member ids, and member removal run by the leader.

The pieces, each pure (no ops hooks, no host access; commands go through a `Runner`):

- `schema`: the peer databag fields (member ids, host names, removals in progress);
- `ids`: a permanent id per member, kept by the leader, never reused;
- `lists`: the lists the images read (ordinal with placeholders, ZOO_SERVERS, addresses);
- `roster`: who each service still counts, as every unit reads the leader's data;
- `planning`, `steps`, `leader`: on a departure, the removal steps (Cassandra removenode,
  RabbitMQ forget_cluster_node, ZooKeeper's server list), each issued at most once;
- `progress`: what status shows (refusals, failures, progress);
- `hostname`: the RabbitMQ node name of a unit; `testing`: a stand-in cluster for tests.

The image facts these follow are in `images/membership.yaml`.
"""

from .commands import CassandraTarget, RabbitmqTarget, Targets
from .hostname import node_hostname
from .ids import UnitFacts
from .leader import Led, lead
from .lists import PLACEHOLDER, addresses, data_addresses, ordinal_list, zoo_servers
from .planning import retry, skip
from .progress import Report, own_status, report
from .roster import Roster
from .schema import (
    MAX_MEMBER_ID,
    MemberRecord,
    MembershipAppData,
    MembershipUnitData,
    Removal,
    RemovalStep,
)
from .steps import Runner

__all__ = [
    "MAX_MEMBER_ID",
    "PLACEHOLDER",
    "CassandraTarget",
    "Led",
    "MemberRecord",
    "MembershipAppData",
    "MembershipUnitData",
    "RabbitmqTarget",
    "Removal",
    "RemovalStep",
    "Report",
    "Roster",
    "Runner",
    "Targets",
    "UnitFacts",
    "addresses",
    "data_addresses",
    "lead",
    "node_hostname",
    "ordinal_list",
    "own_status",
    "report",
    "retry",
    "skip",
    "zoo_servers",
]
