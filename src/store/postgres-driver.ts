/**
 * The backend for several nodes: PostgreSQL through postgres.js. JSON
 * columns are jsonb but cross the wire as text, and bigint columns come back
 * as numbers, so rows look the same as SQLite's to the tables above.
 *
 * @module
 */
import postgres from "postgres";
import { isMoltError, StoreError } from "../errors.ts";
import { type Driver, firstWord, type Queryable, type SessionLocks, type SqlRow, type SqlValue } from "./driver.ts";

const JSONB = 3802;
const INT8 = 20;
const UNIQUE_VIOLATION = "23505";
/** The longest wait between two attempts to reconnect to the server, in seconds. */
const MAX_RECONNECT_DELAY_S = 1;
/** An arbitrary constant key for the advisory lock that serialises migrations. */
const MIGRATION_LOCK = 0x6d6f6c74;

/** Options of the PostgreSQL backend. */
export interface PostgresDriverOptions {
  readonly url: string;
  readonly schema: string | null;
  readonly display: string;
  readonly connectTimeoutMs: number;
  readonly maxConnections: number;
}

/** How long a molt session may sit idle inside a transaction before the server ends it. */
export const IDLE_IN_TRANSACTION_MS = 5000;

/** Connect lazily: the first statement (the migrations of openStore) reveals an unreachable server. */
export function openPostgres(o: PostgresDriverOptions): Driver {
  return new PostgresDriver(connect(o, o.maxConnections), o);
}

function connect(o: PostgresDriverOptions, max: number): Sql {
  return postgres(o.url, {
    max,
    connect_timeout: Math.max(1, Math.ceil(o.connectTimeoutMs / 1000)),
    onnotice: () => {},
    // postgres.js reads the server's array types on every new connection in a promise nothing awaits: a connection
    // cut before they come back, then refused on reconnecting, was an unhandled rejection in the host (the store-lost
    // test failed with it in CI). molt's statements take and return no arrays, so none is read.
    fetch_types: false,
    // postgres.js waits up to 20 s between reconnection attempts after a run of failures: a store that is back
    // must be noticed within a second (a fleet node falls back to V1 while it thinks the store is lost).
    backoff: (attempt: number) => (0.5 + Math.random() / 2) * Math.min(3 ** attempt / 100, MAX_RECONNECT_DELAY_S),
    connection: {
      ...(o.schema === null ? {} : { search_path: o.schema }),
      // A process frozen inside a transaction (SIGSTOP, a paused VM, a stalled event loop) would hold its row
      // locks for as long as its connection lives, and every writer of those rows — an operator's emergency
      // rollback among them — would wait as long. molt's transactions never idle between statements: the
      // server ends such a session after IDLE_IN_TRANSACTION_MS and its locks go with it.
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    },
    types: {
      jsonText: { to: JSONB, from: [JSONB], serialize: (v: unknown) => v, parse: (v: string) => v },
      int8Number: { to: INT8, from: [INT8], serialize: (v: unknown) => String(v), parse: (v: string) => Number(v) },
    },
  });
}

// The type parameter is the map of custom types above; nothing here reads it.
// deno-lint-ignore no-explicit-any
type Sql = postgres.Sql<any>;
// deno-lint-ignore no-explicit-any
type TransactionSql = postgres.TransactionSql<any>;

class PostgresDriver implements Driver {
  readonly backend = "postgres" as const;
  readonly types = {
    json: "JSONB",
    bool: "BOOLEAN",
    serial: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    nowMs: "(extract(epoch from clock_timestamp()) * 1000)::bigint",
    forShare: " FOR SHARE",
  };
  readonly display: string;
  private closed = false;

  constructor(private readonly sql: Sql, private readonly o: PostgresDriverOptions) {
    this.display = o.display;
  }

  all(text: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return this.query(this.sql, text, params).then((rows) => rows as unknown as SqlRow[]);
  }

  run(text: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.query(this.sql, text, params).then((rows) => rows.count ?? 0);
  }

  async listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    this.ensureOpen("listen");
    // postgres.js keeps one dedicated connection for LISTEN and re-subscribes after a reconnect;
    // what was sent while it was away is lost, so a re-subscription counts as a message.
    let subscribed = false;
    const onListen = (): void => {
      if (subscribed) onMessage("");
      subscribed = true;
    };
    const { unlisten } = await this.sql.listen(channel, onMessage, onListen).catch((e: unknown) => {
      throw this.failure(e, "listen");
    });
    return async () => {
      if (!this.closed) await unlisten();
    };
  }

  sessionLocks(): SessionLocks {
    this.ensureOpen("lock");
    // Its own connection: a pooled one would carry the locks to whoever borrows it next.
    const sql = connect(this.o, 1);
    const one = async (text: string, params: readonly SqlValue[]): Promise<SqlRow> => (await this.query(sql, text, params))[0] as SqlRow;
    return {
      tryLock: async (key) => {
        const row = await one("SELECT pg_try_advisory_lock(hashtext(?)) AS held, pg_backend_pid() AS pid", [key]);
        return row.held === true ? Number(row.pid) : null;
      },
      backendPid: async () => Number((await one("SELECT pg_backend_pid() AS pid", [])).pid),
      unlock: async (key) => void (await one("SELECT pg_advisory_unlock(hashtext(?)) AS released", [key])),
      close: () => sql.end({ timeout: 2 }),
    };
  }

  async notify(q: Queryable, channel: string, payload: string): Promise<void> {
    await q.run("SELECT pg_notify(?, ?)", [channel, payload]);
  }

  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.begin(fn, false);
  }

  exclusive<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.begin(fn, true);
  }

  async close(graceMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sql.end({ timeout: graceMs / 1000 });
  }

  private async begin<T>(fn: (q: Queryable) => Promise<T>, exclusive: boolean): Promise<T> {
    this.ensureOpen("begin");
    try {
      return await this.sql.begin(async (tx) => {
        if (exclusive) {
          await this.query(tx, "SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK]);
          // Only when missing: CREATE SCHEMA IF NOT EXISTS needs the database's CREATE privilege even when the
          // schema exists, which a role that only uses molt's tables (and so cannot open the store) lacks.
          const missing = this.o.schema !== null && (await this.query(tx, "SELECT 1 FROM pg_namespace WHERE nspname = ?", [this.o.schema])).length === 0;
          if (missing) await this.query(tx, `CREATE SCHEMA ${this.o.schema}`, []);
        }
        return await fn(this.within(tx));
      }) as T;
    } catch (e) {
      // Errors of molt's own (a row refused inside the transaction) pass through as they are.
      throw isMoltError(e) ? e : this.failure(e, "transaction");
    }
  }

  private within(tx: TransactionSql): Queryable {
    return {
      all: (text, params = []) => this.query(tx, text, params).then((rows) => rows as unknown as SqlRow[]),
      run: (text, params = []) => this.query(tx, text, params).then((rows) => rows.count ?? 0),
    };
  }

  private async query(sql: Sql | TransactionSql, text: string, params: readonly SqlValue[]): Promise<postgres.RowList<postgres.Row[]>> {
    this.ensureOpen(firstWord(text));
    let n = 0;
    const numbered = text.replace(/\?/g, () => `$${++n}`);
    try {
      return await sql.unsafe(numbered, params as SqlValue[]);
    } catch (e) {
      throw this.failure(e, firstWord(text));
    }
  }

  private ensureOpen(operation: string): void {
    if (this.closed) throw new StoreError({ backend: "postgres", operation, failure: "closed", url: this.display, reason: "the store is closed" });
  }

  private failure(e: unknown, operation: string): StoreError {
    const code = String((e as { code?: unknown }).code ?? "");
    const reachable = /^[0-9A-Z]{5}$/.test(code) && !code.startsWith("08") && !code.startsWith("28") && code !== "3D000";
    const failure = code === UNIQUE_VIOLATION ? "conflict" : reachable ? "query" : "unreachable";
    return new StoreError({ backend: "postgres", operation, failure, url: this.display, reason: (e as Error).message ?? String(e) });
  }
}
