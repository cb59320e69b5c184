/**
 * What a store says about itself before a migration relies on it: the
 * server's (or library's) version against the oldest molt supports, and
 * which of molt's tables this connection cannot read and write.
 *
 * @module
 */
import type { StoreBackend } from "../errors.ts";
import type { Driver } from "./driver.ts";
import { MIGRATIONS } from "./migrations.ts";

/** The result of `store.probe()`. */
export interface StoreProbe {
  readonly backend: StoreBackend;
  /** PostgreSQL's server version, or the SQLite library's. */
  readonly version: string;
  /** The oldest version molt supports on this backend. */
  readonly minimumVersion: string;
  readonly versionOk: boolean;
  /** molt's tables this connection may not select, insert, update and delete (empty when it may). */
  readonly unwritable: readonly string[];
}

/** PostgreSQL 12 (identity columns, jsonb, ON CONFLICT); SQLite 3.35 (RETURNING). */
const MINIMUM = { postgres: [12, 0], sqlite: [3, 35, 0] } as const;

/** Every table molt's migrations create (the ledger is written only by a migration, which needs more than this). */
const TABLES: readonly string[] = MIGRATIONS.flatMap((m) => m.statements({ json: "", bool: "", serial: "", nowMs: "", forShare: "" }).flatMap((s) => /^\s*CREATE TABLE (?:IF NOT EXISTS )?(\w+)/.exec(s)?.[1] ?? []));

const versionAtLeast = (version: string, minimum: readonly number[]): boolean => {
  const parts = version.split(/[.\s]/).map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < minimum.length; i++) {
    const part = Number.isNaN(parts[i]) ? 0 : parts[i] ?? 0;
    if (part !== minimum[i]) return part > minimum[i]!;
  }
  return true;
};

/** Probe the store behind `driver`. */
export async function probeStore(driver: Driver): Promise<StoreProbe> {
  if (driver.backend === "postgres") {
    const [row] = await driver.all("SELECT current_setting('server_version') AS version");
    const version = String(row?.version ?? "");
    const privileges = ["SELECT", "INSERT", "UPDATE", "DELETE"].map((p) => `has_table_privilege(to_regclass(name), '${p}')`).join(" AND ");
    const rows = await driver.all(
      `SELECT name FROM (VALUES ${TABLES.map(() => "(?)").join(", ")}) AS t(name) WHERE to_regclass(name) IS NULL OR NOT (${privileges})`,
      TABLES,
    );
    return result("postgres", version, rows.map((r) => String(r.name)));
  }
  const [row] = await driver.all("SELECT sqlite_version() AS version");
  // Taking the write lock and writing nothing proves the file can be written.
  const writable = await driver.exclusive((q) => q.run("UPDATE flags SET value = value WHERE 0 = 1")).then(() => true, () => false);
  return result("sqlite", String(row?.version ?? ""), writable ? [] : TABLES);
}

function result(backend: StoreBackend, version: string, unwritable: readonly string[]): StoreProbe {
  const minimum = MINIMUM[backend];
  return { backend, version, minimumVersion: minimum.join("."), versionOk: versionAtLeast(version, minimum), unwritable };
}
