"""In-service upgrades: a changed image-tag rolls through the deployment in Contrail's order.

Pure parts, each tested without ops:

- `facts`: what upgrades rely on in the images and in Contrail's ZIU, from
  `images/upgrade.yaml` (each fact with `repo@commit:path`).
- `stages`: each charm's rollout (stages in order, the container groups each one moves).
- `plan`: the state machine. `lead()` is the leader's step from the relations' contents;
  `unit_tags()` is the tag each container group runs on a unit now.
- `view`: what the leader reads before its step, and its judgments of the units' reports.
- `status`: the unit's and the leader's status texts (`upgrade <from>→<to>, stage <n>/<m>`).
- `actions`: `begin()` and `cancel()`, the `upgrade` and `cancel-upgrade` actions.
- `health`: when a one-at-a-time stage passes its lock on (BGP/XMPP back, membership back).
- `nodetool`, `zookeeper`, `rabbitmq`: the database readings, parsed and judged.
- `precheck`: the `pre-upgrade-check` report.
- `tags`: which of two image tags is newer, when the tags can tell.
- `agent`: one vRouter node's upgrade over a small host interface (`AgentHost`).
- `module_version`: the loaded and the built vrouter.ko versions.
- `fields`: the relation fields, as databag models the interface schemas take in.

`component.StagedUpgrade` is the ops side the charms compose: it reads and writes those fields
on the peer relation and turns the plan into the tag each container runs.
"""
