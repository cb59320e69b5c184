/**
 * The store's schema as numbered migrations, applied on open, each recorded
 * in `schema_migrations`. Migrations are applied under a store-wide lock
 * (SQLite's write lock, a PostgreSQL advisory lock), so processes opening the
 * same store together apply each one exactly once.
 *
 * Append new migrations; never edit one that has shipped.
 *
 * @module
 */
import type { Driver, Queryable } from "./driver.ts";

/** One step of the schema. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (types: Driver["types"]) => readonly string[];
}

/** A migration as recorded in `schema_migrations`. */
export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly appliedAt: number;
}

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial tables",
    statements: ({ json, bool, serial }) => [
      `CREATE TABLE pool_configurations (
        name TEXT NOT NULL, version INTEGER NOT NULL, config ${json} NOT NULL, active ${bool} NOT NULL,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (name, version))`,
      `CREATE TABLE pool_metrics (
        id ${serial}, pool_name TEXT NOT NULL, node_id TEXT NOT NULL, timestamp BIGINT NOT NULL, metrics ${json} NOT NULL)`,
      "CREATE INDEX pool_metrics_pool_time ON pool_metrics (pool_name, timestamp)",
      `CREATE TABLE migration_status (
        migration_id TEXT NOT NULL, phase TEXT NOT NULL, status TEXT NOT NULL, started_at BIGINT NOT NULL,
        completed_at BIGINT, metadata ${json} NOT NULL, PRIMARY KEY (migration_id, phase))`,
      `CREATE TABLE flags (
        key TEXT PRIMARY KEY, value ${json} NOT NULL, updated_at BIGINT NOT NULL, updated_by TEXT, reason TEXT)`,
      `CREATE TABLE programs (
        id TEXT PRIMARY KEY, definition ${json} NOT NULL, content_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
      `CREATE TABLE machine_snapshots (
        actor_id TEXT NOT NULL, seq BIGINT NOT NULL, machine TEXT NOT NULL, machine_version TEXT NOT NULL,
        snapshot ${json} NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (actor_id, seq))`,
      `CREATE TABLE journal (
        actor_id TEXT NOT NULL, seq BIGINT NOT NULL, event ${json} NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (actor_id, seq))`,
      `CREATE TABLE backups (
        id TEXT PRIMARY KEY, created_at BIGINT NOT NULL, reason TEXT NOT NULL, file TEXT, document ${json} NOT NULL)`,
    ],
  },
  {
    version: 2,
    name: "flag changes and shadow mismatches",
    statements: ({ json, serial }) => [
      `CREATE TABLE flag_changes (
        id ${serial}, key TEXT NOT NULL, old_value ${json}, new_value ${json} NOT NULL,
        changed_by TEXT, reason TEXT, at BIGINT NOT NULL)`,
      "CREATE INDEX flag_changes_key ON flag_changes (key, id)",
      `CREATE TABLE shadow_mismatches (
        id ${serial}, command TEXT NOT NULL, serving_arm TEXT NOT NULL, shadow_arm TEXT NOT NULL,
        serving ${json} NOT NULL, shadow ${json} NOT NULL, at BIGINT NOT NULL)`,
      "CREATE INDEX shadow_mismatches_command ON shadow_mismatches (command, at)",
    ],
  },
  {
    version: 3,
    name: "rollout decisions",
    statements: ({ json, serial }) => [
      `CREATE TABLE decisions (
        id ${serial}, rollout_id TEXT NOT NULL, at BIGINT NOT NULL, kind TEXT NOT NULL,
        state_from TEXT NOT NULL, state_to TEXT NOT NULL, share_from INTEGER NOT NULL, share_to INTEGER NOT NULL,
        reason TEXT NOT NULL, inputs ${json} NOT NULL)`,
      "CREATE INDEX decisions_rollout ON decisions (rollout_id, id)",
    ],
  },
  {
    version: 4,
    name: "operator commands",
    statements: ({ json, serial }) => [
      `CREATE TABLE commands (
        id ${serial}, target TEXT NOT NULL, command TEXT NOT NULL, args ${json} NOT NULL, requested_by TEXT,
        requested_at BIGINT NOT NULL, status TEXT NOT NULL, applied_at BIGINT, result ${json})`,
      "CREATE INDEX commands_pending ON commands (target, status, id)",
    ],
  },
  {
    version: 5,
    name: "validation results",
    statements: ({ json, serial }) => [
      `CREATE TABLE validation_results (
        id ${serial}, target TEXT NOT NULL, kind TEXT NOT NULL, at BIGINT NOT NULL, verdict TEXT NOT NULL, report ${json} NOT NULL)`,
      "CREATE INDEX validation_results_target ON validation_results (target, id)",
    ],
  },
  {
    version: 6,
    // Until now nothing read these flags, so a value stored for them was never meant to act: forget it, or
    // circuit_breaker=false saved back then would bypass V2's breaker now that the flag is obeyed.
    name: "kill switches take effect: forget values stored while nothing read them",
    statements: () => ["DELETE FROM flags WHERE key IN ('circuit_breaker', 'pool_optimizer', 'enhanced_workers', 'telemetry_v2')"],
  },
  {
    version: 7,
    name: "fleet: nodes, leases, claimed commands",
    statements: ({ json }) => [
      `CREATE TABLE nodes (
        node_id TEXT PRIMARY KEY, target TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, version TEXT NOT NULL,
        role TEXT NOT NULL, arms ${json} NOT NULL, heartbeat_ms INTEGER NOT NULL, started_at BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL, stopped_at BIGINT, share_bp INTEGER, state ${json} NOT NULL)`,
      "CREATE INDEX nodes_target ON nodes (target, heartbeat_at)",
      `CREATE TABLE leases (
        name TEXT PRIMARY KEY, holder TEXT, term BIGINT NOT NULL, expires_at BIGINT NOT NULL,
        acquired_at BIGINT NOT NULL, lock_pid INTEGER)`,
      "ALTER TABLE commands ADD COLUMN claimed_by TEXT",
      "ALTER TABLE commands ADD COLUMN claimed_term BIGINT",
      "CREATE INDEX pool_metrics_time ON pool_metrics (timestamp)",
      // One window per node, pool and time: a write retried after its answer was lost must not count twice.
      "CREATE UNIQUE INDEX pool_metrics_window ON pool_metrics (pool_name, node_id, timestamp)",
    ],
  },
  {
    version: 8,
    // A report or dashboard of one migration listed every mismatch in the store, another migration's too.
    name: "shadow mismatches name the rollout they were recorded for",
    statements: () => [
      "ALTER TABLE shadow_mismatches ADD COLUMN rollout_id TEXT",
      "CREATE INDEX shadow_mismatches_rollout ON shadow_mismatches (rollout_id, at)",
    ],
  },
];

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`;

/** True when the store holds molt's migration ledger: it is a molt store, of any schema version. */
export async function hasLedger(q: Queryable, backend: Driver["backend"]): Promise<boolean> {
  const rows = backend === "postgres"
    ? await q.all("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
    : await q.all("SELECT count(*) > 0 AS present FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  return rows[0]?.present === true || rows[0]?.present === 1;
}

/**
 * Apply the migrations `driver` has not recorded yet; resolves with the ones
 * this call applied (none when another process got there first).
 */
export function migrate(driver: Driver, migrations: readonly Migration[] = MIGRATIONS, now: () => number = Date.now): Promise<AppliedMigration[]> {
  return driver.exclusive(async (q) => {
    // CREATE TABLE IF NOT EXISTS needs the schema's CREATE privilege even when the table exists:
    // a PostgreSQL role that may only use molt's tables must still be able to open a migrated store.
    if (driver.backend === "sqlite" || !(await hasLedger(q, "postgres"))) await q.run(LEDGER);
    const done = new Set((await q.all("SELECT version FROM schema_migrations")).map((r) => Number(r.version)));
    const applied: AppliedMigration[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      for (const statement of m.statements(driver.types)) await q.run(statement);
      const record = { version: m.version, name: m.name, appliedAt: now() };
      await q.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", [record.version, record.name, record.appliedAt]);
      applied.push(record);
    }
    return applied;
  });
}

/** The migrations recorded in a store, oldest first. */
export async function appliedMigrations(q: Queryable): Promise<AppliedMigration[]> {
  const rows = await q.all("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
  return rows.map((r) => ({ version: Number(r.version), name: String(r.name), appliedAt: Number(r.applied_at) }));
}
