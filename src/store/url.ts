/**
 * Store locations: the URL forms openStore accepts, parsed once.
 *
 * @module
 */
import { StoreError } from "../errors.ts";

/**
 * Where the embedded store lives when no location is given.
 *
 * @example
 * ```ts
 * import { DEFAULT_STORE_PATH } from "molt";
 * console.log(DEFAULT_STORE_PATH); // ./.molt/molt.db
 * ```
 */
export const DEFAULT_STORE_PATH = "./.molt/molt.db";

/** A parsed store location. */
export type StoreLocation =
  | { readonly backend: "sqlite"; readonly path: string; readonly display: string }
  | { readonly backend: "postgres"; readonly url: string; readonly schema: string | null; readonly display: string };

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function badUrl(display: string, reason: string): StoreError {
  return new StoreError({ backend: null, operation: "open", failure: "bad_url", url: display, reason });
}

/** The URL with its password replaced, for messages and logs. */
function redact(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/, "$1***@");
}

/**
 * Parse `":memory:"`, `"sqlite::memory:"`, `"sqlite:<path>"` or
 * `"postgres://…"` / `"postgresql://…"` (optionally `?schema=<name>` to keep
 * molt's tables in their own PostgreSQL schema).
 */
export function parseStoreUrl(url: string): StoreLocation {
  if (typeof url !== "string" || url.length === 0) {
    throw badUrl(String(url), `expected ":memory:", "sqlite:<path>" or "postgres://host/db", received ${JSON.stringify(url)}`);
  }
  if (url === ":memory:") return { backend: "sqlite", path: ":memory:", display: url };
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
    if (path.length === 0) throw badUrl(url, "sqlite: needs a path, e.g. sqlite:./.molt/molt.db or sqlite::memory:");
    return { backend: "sqlite", path, display: url };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const display = redact(url);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badUrl(display, "not a valid URL");
    }
    if (parsed.hostname === "") throw badUrl(display, "the URL names no host");
    const schema = parsed.searchParams.get("schema");
    if (schema !== null && !SCHEMA_NAME.test(schema)) {
      throw badUrl(display, `schema must be a lower-case SQL identifier, received ${JSON.stringify(schema)}`);
    }
    parsed.searchParams.delete("schema");
    return { backend: "postgres", url: parsed.toString(), schema, display };
  }
  throw badUrl(redact(url), `expected ":memory:", "sqlite:<path>" or "postgres://host/db", received ${JSON.stringify(redact(url))}`);
}
