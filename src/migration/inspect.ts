/**
 * Reading a migration from its store alone — what `molt status`, `molt
 * report` and `molt inspect` show from another process: the current states
 * (latest snapshot plus the journal after it), the phases, the decisions.
 *
 * @module
 */
import { MIGRATION_MACHINE_VERSION, migrationMachine, type MigrationState } from "../../machines/migration.ts";
import {
  type RolloutContext,
  rolloutDetail,
  ROLLOUT_MACHINE_VERSION,
  rolloutMachine,
  type RolloutState,
  rolloutState,
  shareOf,
} from "../../machines/rollout.ts";
import { replay } from "../store/replay.ts";
import type { Store } from "../store/store.ts";
import type { Decision } from "../store/tables/decisions.ts";
import type { MigrationPhase } from "../store/tables/migration-status.ts";

/** A migration as its store tells it. */
export interface StoredMigration {
  readonly migrationId: string;
  /** null when the store has no such migration. */
  readonly migration: { readonly state: MigrationState; readonly failedPhase: string | null; readonly reason: string | null; readonly seq: number } | null;
  readonly rollout: { readonly state: RolloutState; readonly detail: string; readonly shareBp: number; readonly context: RolloutContext; readonly seq: number } | null;
  readonly phases: readonly MigrationPhase[];
  readonly decisions: readonly Decision[];
}

async function latest<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch {
    return null;
  }
}

/**
 * Read everything the store has about a migration (and its rollout, which
 * shares its id), from any process.
 *
 * @example
 * ```ts
 * import { openStore, readMigration } from "molt";
 * const store = await openStore(":memory:");
 * console.log((await readMigration(store, "m1")).migration); // null
 * await store.close();
 * ```
 */
export async function readMigration(store: Store, migrationId: string): Promise<StoredMigration> {
  const hasMigration = (await store.journal.lastSeq(`migration:${migrationId}`)) > 0 || (await store.snapshots.latest(`migration:${migrationId}`)) !== undefined;
  const hasRollout = (await store.journal.lastSeq(`rollout:${migrationId}`)) > 0 || (await store.snapshots.latest(`rollout:${migrationId}`)) !== undefined;
  const m = hasMigration
    ? await latest(() => replay(migrationMachine, { actorId: `migration:${migrationId}`, machineVersion: MIGRATION_MACHINE_VERSION, store, input: { migrationId } }))
    : null;
  const r = hasRollout
    ? await latest(() => replay(rolloutMachine, { actorId: `rollout:${migrationId}`, machineVersion: ROLLOUT_MACHINE_VERSION, store }))
    : null;
  return {
    migrationId,
    migration: m === null ? null : { state: m.state.value as MigrationState, failedPhase: m.state.context.failedPhase, reason: m.state.context.reason, seq: m.seq },
    rollout: r === null ? null : { state: rolloutState(r.state), detail: rolloutDetail(r.state), shareBp: shareOf(r.state), context: r.state.context, seq: r.seq },
    phases: await store.migrationStatus.list(migrationId),
    decisions: await store.decisions.list(migrationId),
  };
}
