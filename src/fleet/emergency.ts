/**
 * An emergency rollback that needs no leader: V2's share goes to 0 in the
 * store itself, so every node hears it whether or not a controller runs, and
 * a rollback is queued for the leader to record and finish.
 *
 * The leader's term is ended first. A leader taking the lease at that very
 * moment could otherwise read the commands before the rollback was queued,
 * restore its stage and write the stage's share over the 0: with its term
 * ended, that write is refused, and the next term reads the queued rollback.
 *
 * @module
 */
import { nonEmptyString, option, refuseUnknown, required } from "../config.ts";
import { MigrationError } from "../errors.ts";
import { type Store, storeRule } from "../store/store.ts";

/** What `requestEmergencyRollback` did. */
export interface EmergencyRequest {
  /** The queued rollback command, which the next leader applies. */
  readonly commandId: number;
  /** The leader's term that was ended, or null when nothing ever led the rollout. */
  readonly endedTerm: number | null;
}

/**
 * Roll a fleet's rollout back to V1 from anywhere that can reach its store
 * (what `molt rollback --emergency` does): queue the rollback, end the
 * leader's term, set V2's share to 0. `reason` (default "no reason given")
 * and `by` (default "requestEmergencyRollback") are recorded with both.
 * Refused with a MigrationError, changing nothing, once the migration has
 * decommissioned V1: there is nothing left to roll back to.
 *
 * @example
 * ```ts
 * import { openStore, requestEmergencyRollback } from "molt";
 * const store = await openStore(":memory:");
 * const r = await requestEmergencyRollback(store, "checkout", { reason: "V2 corrupts carts", by: "oncall" });
 * console.log((await store.flags.get("pool_v2_share"))?.value, r.endedTerm); // 0 null
 * await store.close();
 * ```
 */
export async function requestEmergencyRollback(store: Store, rolloutId: string, options: { reason?: string; by?: string } = {}): Promise<EmergencyRequest> {
  const owner = "requestEmergencyRollback";
  required(owner, "store", store, storeRule);
  required(owner, "rolloutId", rolloutId, nonEmptyString);
  refuseUnknown(owner, options, ["reason", "by"]);
  const reason = option(owner, "reason", options.reason, nonEmptyString, "no reason given");
  const by = option(owner, "by", options.by, nonEmptyString, owner);
  // A migration that decommissioned V1 has nothing to roll back to: share 0 would send every call to a pool that is gone.
  const decommissioned = (await store.migrationStatus.list(rolloutId)).some((p) => p.phase === "decommission" && p.status === "completed");
  if (decommissioned) throw new MigrationError({ migrationId: rolloutId, command: "emergency rollback", state: "complete", reason: "V1 was decommissioned: there is no V1 to roll back to" });
  // Queued before the term ends: whoever takes the next term finds it when it restores the rollout.
  const commandId = await store.commands.enqueue({ target: rolloutId, command: "emergency_rollback", args: { reason }, requestedBy: by });
  const endedTerm = await store.leases.preempt(`rollout:${rolloutId}`);
  await store.flags.set("pool_v2_share", 0, { by, reason: `emergency rollback: ${reason}` });
  return { commandId, endedTerm };
}
