/**
 * openStore: the store every part of molt writes to — SQLite by default,
 * PostgreSQL for several nodes — with its schema migrated on open.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { boolean, nonNegativeDuration, option, positiveDuration, positiveInt, refuseUnknown, type Rule } from "../config.ts";
import { StoreError, type StoreBackend } from "../errors.ts";
import type { Driver } from "./driver.ts";
import { type Fence, fencedDriver } from "./fence.ts";
import { type AppliedMigration, appliedMigrations, hasLedger, migrate } from "./migrations.ts";
import { openPostgres } from "./postgres-driver.ts";
import { probeStore, type StoreProbe } from "./probe.ts";
import { DEFAULT_BUSY_TIMEOUT_MS, openSqlite } from "./sqlite-driver.ts";
import { Backups } from "./tables/backups.ts";
import { Commands } from "./tables/commands.ts";
import { Decisions } from "./tables/decisions.ts";
import { Flags } from "./tables/flags.ts";
import { Journal } from "./tables/journal.ts";
import { Leases } from "./tables/leases.ts";
import { MigrationStatus } from "./tables/migration-status.ts";
import { Nodes } from "./tables/nodes.ts";
import { PoolConfigurations } from "./tables/pool-configurations.ts";
import { PoolMetrics } from "./tables/pool-metrics.ts";
import { Programs } from "./tables/programs.ts";
import { ShadowMismatches } from "./tables/shadow-mismatches.ts";
import { Snapshots } from "./tables/snapshots.ts";
import { Validations } from "./tables/validations.ts";
import { DEFAULT_STORE_PATH, parseStoreUrl } from "./url.ts";

/** Options of openStore. */
export interface StoreOptions {
  /** The clock stamped on rows (epoch ms). Default: `Date.now`. */
  readonly now?: () => number;
  /** PostgreSQL: give up connecting after this long. Default: 5000. */
  readonly connectTimeoutMs?: number;
  /** PostgreSQL: connections in the pool. Default: 10. */
  readonly maxConnections?: number;
  /**
   * SQLite: how long a write waits for another process's write lock before
   * it fails (the event loop runs meanwhile); 0 fails at once. Default: 10000.
   */
  readonly busyTimeoutMs?: number;
  /**
   * Make the store when there is none (a SQLite file and its directory, or
   * molt's tables in a PostgreSQL schema). With false, a missing store is a
   * StoreError "missing" and nothing is created; an existing one is still
   * brought up to this molt's schema. Default true.
   */
  readonly create?: boolean;
}

/** The store: one accessor per table, the same on every backend. */
export interface Store {
  readonly backend: StoreBackend;
  /** Where it is: a file path, ":memory:", or the URL without its password. */
  readonly location: string;
  /** The migrations this open applied (empty when the schema was up to date). */
  readonly applied: readonly AppliedMigration[];
  readonly poolConfigurations: PoolConfigurations;
  readonly poolMetrics: PoolMetrics;
  readonly migrationStatus: MigrationStatus;
  readonly flags: Flags;
  readonly programs: Programs;
  readonly snapshots: Snapshots;
  readonly journal: Journal;
  readonly backups: Backups;
  readonly shadowMismatches: ShadowMismatches;
  readonly decisions: Decisions;
  readonly commands: Commands;
  readonly validations: Validations;
  readonly nodes: Nodes;
  readonly leases: Leases;
  /** Every migration recorded in `schema_migrations`, oldest first. */
  migrations(): Promise<AppliedMigration[]>;
  /** The server's version against the oldest supported, and which of molt's tables this connection cannot write. */
  probe(): Promise<StoreProbe>;
  /** Close the connection; later calls reject with a StoreError "closed". */
  close(): Promise<void>;
}

/** The option rule for a Store (pool `store`, persistActor `store`). */
export const storeRule: Rule<Store> = {
  is: (v): v is Store => typeof (v as Store | null)?.journal?.append === "function" && typeof (v as Store).snapshots?.latest === "function",
  allowed: "a Store from openStore()",
};

const fn: Rule<() => number> = { is: (v): v is () => number => typeof v === "function", allowed: "a function returning epoch milliseconds" };

/**
 * Open a store and apply its pending migrations. `url` is `":memory:"`,
 * `"sqlite:<path>"` or `"postgres://user@host:port/db"` (add
 * `?schema=<name>` to keep molt's tables in their own schema); default
 * `sqlite:./.molt/molt.db`. A malformed URL is a StoreError "bad_url", a
 * server that cannot be reached a StoreError "unreachable".
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * console.log(store.backend, (await store.migrations()).map((m) => m.version)); // sqlite [ 1, 2, 3, 4, 5, 6, 7 ]
 * await store.close();
 * ```
 */
export async function openStore(url: string = `sqlite:${DEFAULT_STORE_PATH}`, options: StoreOptions = {}): Promise<Store> {
  refuseUnknown("store", options, ["now", "connectTimeoutMs", "maxConnections", "busyTimeoutMs", "create"]);
  const now = option("store", "now", options.now, fn, Date.now);
  const connectTimeoutMs = option("store", "connectTimeoutMs", options.connectTimeoutMs, positiveDuration, 5000);
  const maxConnections = option("store", "maxConnections", options.maxConnections, positiveInt, 10);
  const busyTimeoutMs = option("store", "busyTimeoutMs", options.busyTimeoutMs, nonNegativeDuration, DEFAULT_BUSY_TIMEOUT_MS);
  const create = option("store", "create", options.create, boolean, true);
  const where = parseStoreUrl(url);
  if (!create && where.backend === "sqlite" && where.path !== ":memory:" && !existsSync(where.path)) {
    throw new StoreError({ backend: "sqlite", operation: "open", failure: "missing", url: where.display, reason: `no store at ${where.path} (nothing was created)` });
  }
  const driver = where.backend === "sqlite"
    ? await openSqlite(where.path, where.display, busyTimeoutMs)
    : openPostgres({ url: where.url, schema: where.schema, display: where.display, connectTimeoutMs, maxConnections });
  try {
    if (!create && !(await hasLedger(driver, driver.backend))) {
      throw new StoreError({ backend: driver.backend, operation: "open", failure: "missing", url: driver.display, reason: "molt's tables are not there (nothing was created)" });
    }
    return build(driver, now, await migrate(driver, undefined, now));
  } catch (e) {
    // Nothing of the caller's is in flight, only the driver's attempts to reconnect: cut them off at once.
    await driver.close(0).catch(() => {});
    throw e;
  }
}

/** The tables over a driver, and where each store came from (for fenced views of it). */
const drivers = new WeakMap<Store, { driver: Driver; now: () => number }>();

function build(driver: Driver, now: () => number, applied: readonly AppliedMigration[]): Store {
  const tables = {
    poolConfigurations: new PoolConfigurations(driver, now),
    poolMetrics: new PoolMetrics(driver),
    migrationStatus: new MigrationStatus(driver),
    flags: new Flags(driver, now),
    programs: new Programs(driver, now),
    snapshots: new Snapshots(driver),
    journal: new Journal(driver),
    shadowMismatches: new ShadowMismatches(driver),
    decisions: new Decisions(driver),
    commands: new Commands(driver, now),
    validations: new Validations(driver, now),
    nodes: new Nodes(driver),
    leases: new Leases(driver),
  };
  const store: Store = {
    backend: driver.backend,
    location: driver.display,
    applied,
    ...tables,
    backups: new Backups(driver, now, tables),
    migrations: () => appliedMigrations(driver),
    probe: () => probeStore(driver),
    close: () => driver.close(),
  };
  drivers.set(store, { driver, now });
  return store;
}

/**
 * @internal The same store, with every write checked against `fence` (see
 * fence.ts): what a fleet leader writes through. Closing the view leaves
 * the store open.
 */
export function fencedStore(store: Store, fence: Fence): Store {
  const origin = drivers.get(store);
  if (origin === undefined) throw new TypeError("fencedStore: not a store from openStore()");
  return build(fencedDriver(origin.driver, fence), origin.now, store.applied);
}

/** @internal The driver under a store (for the fleet's session locks). */
export function driverOf(store: Store): Driver {
  const origin = drivers.get(store);
  if (origin === undefined) throw new TypeError("driverOf: not a store from openStore()");
  return origin.driver;
}
