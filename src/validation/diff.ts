/**
 * Where two JSON values differ: every path at which they do, with both
 * values there.
 *
 * @module
 */

/** One difference. */
export interface Difference {
  /** A dotted path (`result.items.2.name`); "" for the values themselves. */
  readonly path: string;
  readonly v1: unknown;
  readonly v2: unknown;
}

const join = (path: string, key: string | number): string => (path === "" ? String(key) : `${path}.${key}`);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The differences between `a` (V1's) and `b` (V2's), at most `limit` of them. */
export function differences(a: unknown, b: unknown, limit = 50, path = "", out: Difference[] = []): Difference[] {
  if (out.length >= limit) return out;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length || i >= b.length) out.push({ path: join(path, i), v1: a[i], v2: b[i] });
      else differences(a[i], b[i], limit, join(path, i), out);
    }
    return out;
  }
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(key in a) || !(key in b)) out.push({ path: join(path, key), v1: a[key], v2: b[key] });
      else differences(a[key], b[key], limit, join(path, key), out);
    }
    return out;
  }
  if (!Object.is(a, b)) out.push({ path, v1: a, v2: b });
  return out;
}
