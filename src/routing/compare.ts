/**
 * How a shadow answer is compared with the serving one: both normalised
 * (ignored paths removed, then the caller's `normalize`), then deep equality
 * over JSON values and bytes (a Uint8Array, by content). Errors compare by
 * their tag (and Python type).
 *
 * @module
 */

/** How one arm's call ended, in comparable form. */
export type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: string };

/** The comparable form of an error: its tag, and the Python exception type for a PythonError. */
export function errorKey(error: unknown): string {
  const tag = (error as { _tag?: unknown } | null)?._tag;
  if (tag === "PythonError") return `PythonError:${(error as { type?: string }).type}`;
  return typeof tag === "string" ? tag : String((error as Error)?.name ?? "Error");
}

/** `value` without the dotted `paths` (`"meta.pid"`); arrays are walked element by element. */
export function without(value: unknown, paths: readonly (readonly string[])[]): unknown {
  if (paths.length === 0 || value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((v) => without(v, paths));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (paths.some((p) => p.length === 1 && p[0] === key)) continue;
    const deeper = paths.filter((p) => p.length > 1 && p[0] === key).map((p) => p.slice(1));
    out[key] = without(v, deeper);
  }
  return out;
}

/** Deep equality of JSON values (object key order does not matter) and bytes. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return Number.isNaN(a) && Number.isNaN(b);
  // Bytes by content, not as objects of a million keys.
  if (a instanceof Uint8Array || b instanceof Uint8Array) return a instanceof Uint8Array && b instanceof Uint8Array && bytesEqual(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((v, i) => jsonEqual(v, other[i]));
  }
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as object, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Bytes in the mismatch log: their length, not each byte as a key.
const bytesAsLength = (_key: string, value: unknown): unknown => (value instanceof Uint8Array ? { bytes: value.length } : value);

/** A JSON value cut to about `maxBytes` of text, for the mismatch log (bytes as `{bytes: <length>}`). */
export function trimmed(outcome: Outcome, maxBytes: number): unknown {
  const value = outcome.ok ? outcome.value : { error: outcome.error };
  let text: string;
  try {
    text = JSON.stringify(value, bytesAsLength) ?? "null";
  } catch {
    return { unserializable: String(value) };
  }
  return text.length <= maxBytes ? JSON.parse(text) : { trimmed: text.slice(0, maxBytes), bytes: text.length };
}
