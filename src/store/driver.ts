/**
 * The little SQL surface the tables are written against, so one set of
 * accessors serves SQLite and PostgreSQL. Statements use `?` placeholders;
 * JSON travels as text, times as integer milliseconds, booleans as booleans.
 *
 * @module
 */
import type { StoreBackend } from "../errors.ts";

/** A value bound to a placeholder. */
export type SqlValue = string | number | boolean | null;

/** A row as the driver returns it, before its table decodes it. */
export type SqlRow = Readonly<Record<string, unknown>>;

/** Run statements, inside or outside a transaction. */
export interface Queryable {
  /** Rows of a query. */
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Run a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** A connection (or connection pool) to one store. */
export interface Driver extends Queryable {
  readonly backend: StoreBackend;
  /** Where it points, without a password. */
  readonly display: string;
  /** Column types that differ between backends. */
  readonly types: {
    readonly json: string;
    readonly bool: string;
    readonly serial: string;
    /** An expression for the server's clock in epoch ms: one clock for every node, whatever their hosts' clocks say. */
    readonly nowMs: string;
    /** Appended to a SELECT that must hold its rows until the transaction ends (PostgreSQL's FOR SHARE; SQLite's transactions hold the whole database). */
    readonly forShare: string;
  };
  /** Run `fn` in one transaction: all of it commits, or none of it. */
  transaction<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribe to a notification channel; null where the backend has none
   * (SQLite: watchers poll instead). Resolves with the unsubscribe function.
   */
  listen(channel: string, onMessage: (payload: string) => void): Promise<(() => Promise<void>) | null>;
  /** Send a notification from inside a transaction (delivered when it commits); nothing where there are none. */
  notify(q: Queryable, channel: string, payload: string): Promise<void>;
  /**
   * A connection of its own holding session advisory locks (PostgreSQL), so
   * that a holder's death (its connection closing) frees them at once; null
   * where the backend has none (SQLite).
   */
  sessionLocks(): SessionLocks | null;
  /** Run `fn` holding the store-wide lock that serialises schema migrations between processes. */
  exclusive<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Close, letting statements in flight finish for up to `graceMs` (default 5000) before cutting them off. */
  close(graceMs?: number): Promise<void>;
}

/** The statement's verb and table, for error messages. */
export function firstWord(sql: string): string {
  return sql.trim().split(/\s+/, 3).join(" ").toLowerCase();
}

/** Session advisory locks on one dedicated connection (PostgreSQL). */
export interface SessionLocks {
  /** Take the lock named `key` if free; resolves with this session's backend pid when held, null when another session holds it. */
  tryLock(key: string): Promise<number | null>;
  /** The backend pid of this connection now: another than the one `tryLock` returned means the session (and its locks) was lost. */
  backendPid(): Promise<number>;
  /** Release the lock named `key` (nothing if not held). */
  unlock(key: string): Promise<void>;
  /** Close the connection, releasing every lock it holds. */
  close(): Promise<void>;
}
