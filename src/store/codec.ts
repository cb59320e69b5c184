/**
 * Rows in and out of a table through a Schema: a value that does not match
 * is a StoreRowError naming the table and the row, on the way in (before
 * anything is written) and on the way out (never a silent `undefined`).
 *
 * @module
 */
import * as Result from "effect/Result";
import * as Schema from "effect/Schema";
import { StoreRowError } from "../errors.ts";
import type { SqlRow } from "./driver.ts";

/** A JSON object, the shape of every config, metrics and metadata column. */
export type JsonObject = Schema.JsonObject;
/** A JSON object, the shape of every config, metrics and metadata column. */
export const JsonObject: Schema.Codec<JsonObject> = Schema.JsonObject;

/** Epoch milliseconds. */
export const Millis = Schema.Int;

/** Reads and writes one table's records. */
export interface RowCodec<T> {
  /** Decode a row read from the table. */
  read(row: SqlRow): T;
  /** Validate a record about to be written; `row` names it in an error. */
  write(value: unknown, row: string): T;
}

class JsonColumnError {
  constructor(readonly column: string, readonly reason: string) {}
}

/** Parse a JSON text column inside `fromRow`; a bad text becomes the row's StoreRowError. */
export function jsonColumn(row: SqlRow, column: string): unknown {
  const text = row[column];
  if (typeof text !== "string") throw new JsonColumnError(column, `column ${column} is not JSON text`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new JsonColumnError(column, `column ${column} is not valid JSON: ${(e as Error).message}`);
  }
}

/** A boolean stored as a boolean (PostgreSQL) or 0/1 (SQLite); anything else is left for the Schema to refuse. */
export function boolColumn(value: unknown): unknown {
  return value === 0 ? false : value === 1 ? true : value;
}

function issue(error: { message: string }): string {
  return error.message.replace(/\s*\n\s*/g, " ");
}

/**
 * A codec for `table`: `fromRow` maps columns to the record's fields, `key`
 * names a row in errors (its primary key).
 */
export function rowCodec<S extends Schema.Decoder<unknown>>(
  table: string,
  schema: S,
  key: (row: SqlRow) => string,
  fromRow: (row: SqlRow) => unknown,
): RowCodec<S["Type"]> {
  const decode = Schema.decodeUnknownResult(schema);
  const check = (value: unknown, row: string, direction: "read" | "write"): S["Type"] => {
    const r = decode(value);
    if (Result.isFailure(r)) throw new StoreRowError({ table, row, direction, issue: issue(r.failure) });
    return r.success;
  };
  return {
    read(row) {
      let value: unknown;
      try {
        value = fromRow(row);
      } catch (e) {
        if (e instanceof JsonColumnError) throw new StoreRowError({ table, row: key(row), direction: "read", issue: e.reason });
        throw e;
      }
      return check(value, key(row), "read");
    },
    write: (value, row) => check(value, row, "write"),
  };
}
