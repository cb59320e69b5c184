/**
 * The backends every store test runs against: SQLite in a fresh temporary
 * file, and PostgreSQL (the server at 127.0.0.1:5432, or MOLT_TEST_PG_URL)
 * in a fresh schema per store. Where PostgreSQL cannot be reached its cases
 * are skipped, and the reason is printed once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import postgres from "postgres";

export const PG_URL = process.env.MOLT_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

async function probe(): Promise<string | null> {
  const sql = postgres(PG_URL, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return null;
  } catch (e) {
    return `PostgreSQL at ${PG_URL} cannot be reached (${(e as Error).message}): its cases are skipped`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Why the PostgreSQL cases are skipped, or null when they run. */
export const pgSkip: string | null = await probe();
if (pgSkip !== null) console.warn(pgSkip);

/** A backend under test. */
export interface Backend {
  readonly name: "sqlite" | "postgres";
  /** Why its cases are skipped, or null. */
  readonly skip: string | null;
  /** A location for a fresh, empty store. */
  fresh(): string;
  /** Run raw SQL against a location given by `fresh` (to corrupt rows on purpose). */
  exec(url: string, text: string): Promise<void>;
  /** Remove every store this backend made. */
  cleanup(): Promise<void>;
}

let counter = 0;

function sqliteBackend(): Backend {
  const dirs: string[] = [];
  return {
    name: "sqlite",
    skip: null,
    fresh() {
      const dir = mkdtempSync(join(tmpdir(), "molt-store-"));
      dirs.push(dir);
      return `sqlite:${join(dir, "molt.db")}`;
    },
    exec(url, text) {
      const db = new DatabaseSync(url.slice("sqlite:".length));
      try {
        db.exec(text);
      } finally {
        db.close();
      }
      return Promise.resolve();
    },
    cleanup() {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

function postgresBackend(): Backend {
  const schemas: string[] = [];
  const withSql = async (schema: string | null, fn: (sql: postgres.Sql) => Promise<unknown>): Promise<void> => {
    const sql = postgres(PG_URL, { max: 1, onnotice: () => {}, connection: schema === null ? {} : { search_path: schema } });
    try {
      await fn(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
  return {
    name: "postgres",
    skip: pgSkip,
    fresh() {
      const schema = `molt_test_${process.pid}_${++counter}`;
      schemas.push(schema);
      return `${PG_URL}?schema=${schema}`;
    },
    exec: (url, text) => withSql(new URL(url).searchParams.get("schema"), (sql) => sql.unsafe(text)),
    cleanup: () => withSql(null, async (sql) => {
      for (const schema of schemas.splice(0)) await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }),
  };
}

export const BACKENDS: readonly Backend[] = [sqliteBackend(), postgresBackend()];
