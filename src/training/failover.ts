/**
 * Exercise "failover": two fleet nodes share one rollout; the trainee stops
 * the leader's process, sees another node take the lease, and moves the
 * rollout on under the new leader.
 *
 * @module
 */
import { hostname } from "node:os";
import { isRunning } from "../process/proc-stat.ts";
import { commandCriteria, criterion, type Exercise } from "./exercise.ts";

/** The "failover" exercise. */
export const failover: Exercise = {
  name: "failover",
  title: "A fleet leader failover",
  summary: "two fleet nodes share the rollout: stop the leader, check that another takes over, move on under it",
  scenario: { kind: "fleet", shadowMs: 0, stagesBp: [500, 2500, 5000], minCalls: 1_000_000, tick: true },
  briefing: [
    "Two fleet nodes, node-1 and node-2, serve this migration and share its rollout; node-1 leads.",
    "node-1's host must be taken down for a kernel update.",
    "",
    "Stop the leader's process (molt status shows its pid; kill <pid> sends SIGTERM),",
    "check in molt status that node-2 took the lease, then show that the rollout goes on",
    "under it: move it one stage on (molt rollout promote) with a reason, under your name.",
  ].join("\n"),
  async criteria(r) {
    const first = (r.setup.inputs as { leader?: string }).leader ?? "node-1";
    const term = Number((r.setup.inputs as { term?: number }).term ?? 0);
    const nodes = await r.store.nodes.list(r.migrationId);
    const old = nodes.find((n) => n.nodeId === first);
    const lease = await r.store.leases.get(`rollout:${r.migrationId}`);
    const moved = lease !== null && lease.holder !== null && lease.holder !== first && lease.term > term;
    const [promoted, ...rest] = commandCriteria(r, ["promote_stage", "promote"], "the rollout moved on", `molt rollout promote --by ${r.who} --reason "..."`);
    const applied = r.commands.filter((c) => ["promote_stage", "promote"].includes(c.command) && c.status === "applied");
    const command = applied.find((c) => c.claimedBy !== null && c.claimedBy !== first) ?? applied[0];
    return [
      criterion(
        `the leader at the start (${first}) stopped`,
        old !== undefined && !old.live && !pidAlive(old.pid, old.host),
        old === undefined ? `${first} is not in the store` : pidAlive(old.pid, old.host) ? `${first} (pid ${old.pid} on ${old.host}) still runs: kill ${old.pid}` : `${first} (pid ${old.pid}) has exited, but the store still counts it live (heard from ${old.ageMs} ms ago): check again in a few seconds`,
      ),
      criterion("another node took the lease", moved, lease === null || lease.holder === null ? "no node holds the lease now" : `the lease is held by ${lease.holder} (term ${lease.term}); the first leader held term ${term}`),
      criterion("the new leader applied the command", command !== undefined && command.claimedBy !== null && command.claimedBy !== first, command === undefined ? "no promote was applied after the setup" : `command ${command.id} was applied by ${command.claimedBy}, the first leader: stop it first`),
      promoted!,
      ...rest,
    ];
  },
};

/** True while `pid` runs on this host; a node on another host is judged by its heartbeat alone. */
const pidAlive = (pid: number, host: string): boolean => host === hostname() && isRunning(pid);
