/**
 * The embedded backend: node:sqlite's DatabaseSync (the same module under
 * Bun, Deno and Node), in WAL mode with one writer.
 *
 * A statement runs synchronously, so a single one can never interleave with
 * another; a transaction spans awaits, so while one is open every other
 * statement of this connection waits for it.
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { StoreError } from "../errors.ts";
import { type Driver, firstWord, type Queryable, type SqlRow, type SqlValue } from "./driver.ts";

const SQLITE_BUSY = 5;
const SQLITE_CONSTRAINT = 19;

/** How long a statement waits for another process's write lock. */
const BUSY_TIMEOUT_MS = 10_000;

function bind(params: readonly SqlValue[]): (string | number | null)[] {
  return params.map((p) => (typeof p === "boolean" ? (p ? 1 : 0) : p));
}

/** Open (creating the file and its directory) a SQLite store. */
export async function openSqlite(path: string, display: string): Promise<Driver> {
  let db: DatabaseSync | null = null;
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      db ??= new DatabaseSync(path);
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.exec("PRAGMA journal_mode = WAL");
      // NORMAL is durable against a crash of the process (what kill -9 does);
      // only an OS crash or power loss can drop the last commits, never tear one.
      db.exec("PRAGMA synchronous = NORMAL");
      return new SqliteDriver(db, display);
    } catch (e) {
      // Switching a new file to WAL can report "locked" at once, without the busy
      // handler, while another process switches it: wait and try again.
      const busy = (((e as { errcode?: number }).errcode ?? 0) & 0xff) === SQLITE_BUSY;
      if (!busy || Date.now() > deadline) {
        db?.close();
        throw new StoreError({ backend: "sqlite", operation: "open", failure: "unreachable", url: display, reason: (e as Error).message });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

class SqliteDriver implements Driver {
  readonly backend = "sqlite" as const;
  readonly types = { json: "TEXT", bool: "INTEGER", serial: "INTEGER PRIMARY KEY AUTOINCREMENT" };
  private readonly statements = new Map<string, StatementSync>();
  /** The open transaction; statements from outside it wait for it. */
  private open: Promise<unknown> | null = null;
  private closed = false;
  private readonly direct: Queryable = {
    all: (sql, params = []) => Promise.resolve(this.exec(sql, params, "all") as SqlRow[]),
    run: (sql, params = []) => Promise.resolve(this.exec(sql, params, "run") as number),
  };

  constructor(private readonly db: DatabaseSync, readonly display: string) {}

  async all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    while (this.open !== null) await this.open.catch(() => {});
    return this.exec(sql, params, "all") as SqlRow[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    while (this.open !== null) await this.open.catch(() => {});
    return this.exec(sql, params, "run") as number;
  }

  listen(): Promise<null> {
    return Promise.resolve(null);
  }

  notify(): Promise<void> {
    return Promise.resolve();
  }

  async transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return await this.begin("BEGIN", fn);
  }

  async exclusive<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    // IMMEDIATE takes the database's write lock at once: a second process
    // opening the same file waits here until the first has migrated.
    return await this.begin("BEGIN IMMEDIATE", fn);
  }

  private async begin<T>(statement: string, fn: (q: Queryable) => Promise<T>): Promise<T> {
    while (this.open !== null) await this.open.catch(() => {});
    this.exec(statement, [], "run");
    const work = (async () => {
      try {
        const result = await fn(this.direct);
        this.exec("COMMIT", [], "run");
        return result;
      } catch (e) {
        if (this.db.isTransaction) this.db.exec("ROLLBACK");
        throw e;
      }
    })();
    this.open = work;
    try {
      return await work;
    } finally {
      this.open = null;
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.statements.clear();
      this.db.close();
    }
    return Promise.resolve();
  }

  private exec(sql: string, params: readonly SqlValue[], mode: "all" | "run"): SqlRow[] | number {
    if (this.closed) throw new StoreError({ backend: "sqlite", operation: firstWord(sql), failure: "closed", url: this.display, reason: "the store is closed" });
    try {
      let statement = this.statements.get(sql);
      if (statement === undefined) {
        statement = this.db.prepare(sql);
        this.statements.set(sql, statement);
      }
      return mode === "all" ? statement.all(...bind(params)) as SqlRow[] : Number(statement.run(...bind(params)).changes);
    } catch (e) {
      const code = ((e as { errcode?: number }).errcode ?? 0) & 0xff;
      const failure = code === SQLITE_CONSTRAINT ? "conflict" : "query";
      const reason = code === SQLITE_BUSY ? `database is locked by another writer for over ${BUSY_TIMEOUT_MS} ms` : (e as Error).message;
      throw new StoreError({ backend: "sqlite", operation: firstWord(sql), failure, url: this.display, reason });
    }
  }
}

