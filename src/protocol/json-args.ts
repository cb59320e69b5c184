/**
 * What may travel in a request's `args`: JSON data that `JSON.stringify`
 * sends unchanged and Python's decoder reads back, and bytes (a
 * `Uint8Array`, a Node `Buffer` included), which travel as binary
 * attachments (protocol minor 3). Anything else would be
 * changed silently (NaN and functions become null or vanish, a Map becomes
 * `{}`) or fail later (a BigInt or a cycle throws; nesting near 1000 levels
 * is a RecursionError in the worker), so it is found before anything is
 * sent, with its path.
 *
 * @module
 */

import { BYTES_KEY } from "./attachments.ts";

/** The deepest nesting of arrays and objects allowed in args: Python's json decoder fails near 1000 levels. */
export const MAX_ARGS_DEPTH = 500;

/** A value in args that cannot travel as JSON unchanged. */
export interface ArgsProblem {
  /** Where it is: `args.items[3].score`. */
  readonly path: string;
  readonly received: unknown;
  /** What would be allowed there. */
  readonly allowed: string;
}

/** A problem found by the walk; its path is built on the way back up, innermost key first. */
interface Found {
  readonly keys: (string | number)[];
  readonly received: unknown;
  allowed: string;
  /** For a cycle: the depth of the ancestor the value is, whose path is known only once the walk is back at the root. */
  readonly cycleTo: number;
}

// The containers being walked, root first: the cycle check. One stack reused by every call.
const ancestors: object[] = [];
// Whether the walk under way met a Uint8Array.
let bytesFound = false;

/**
 * argsProblem's answer for args that are fine and hold bytes somewhere:
 * they are sent with attachments, to a worker that reads them.
 *
 * @example
 * ```ts
 * import { argsProblem, HOLDS_BYTES } from "./json-args.ts";
 * console.log(argsProblem({ image: new Uint8Array(4) }) === HOLDS_BYTES); // true
 * ```
 */
export const HOLDS_BYTES: unique symbol = Symbol("molt.holdsBytes");

const found = (received: unknown, allowed: string, cycleTo = -1): Found => ({ keys: [], received, allowed, cycleTo });

/**
 * The first value in `args` that JSON would change or refuse; else
 * `HOLDS_BYTES` when a `Uint8Array` is among them, or null. One recursive
 * walk of typeof checks that creates no object of its own while the args
 * are fine: it runs before every call.
 *
 * @example
 * ```ts
 * import { argsProblem } from "./json-args.ts";
 * console.log(argsProblem({ items: [{ score: 1 }, { score: NaN }] })); // { path: "args.items[1].score", received: NaN, allowed: "a finite number" }
 * ```
 */
export function argsProblem(args: unknown): ArgsProblem | typeof HOLDS_BYTES | null {
  // A walk that threw (a getter, a toJSON) may have left entries behind.
  ancestors.length = 0;
  bytesFound = false;
  // Undefined args are sent as null, as the absence of args.
  const problem = args === undefined ? null : walk(args, 0);
  if (problem === null) return bytesFound ? HOLDS_BYTES : null;
  const keys = problem.keys.reverse();
  if (problem.cycleTo >= 0) problem.allowed = `free of cycles (it is ${pathOf(keys.slice(0, problem.cycleTo))} again)`;
  return { path: pathOf(keys), received: problem.received, allowed: problem.allowed };
}

function walk(value: unknown, depth: number): Found | null {
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value) ? null : found(value, "a finite number");
    case "object":
      return value === null ? null : container(value, depth);
    case "bigint":
      return found(value, "a finite number (a BigInt has no JSON form: convert it to a number or a string)");
    case "undefined":
      return found(value, "JSON data (undefined in an array would be sent as null)");
    default:
      return found(value, `JSON data (a ${typeof value} has no JSON form)`);
  }
}

function container(value: object, depth: number): Found | null {
  if (depth >= MAX_ARGS_DEPTH) return found(value, `nested at most ${MAX_ARGS_DEPTH} levels deep`);
  const cycleTo = ancestors.indexOf(value);
  if (cycleTo >= 0) return found(value, "", cycleTo);
  if (Array.isArray(value)) {
    ancestors.push(value);
    for (let i = 0; i < value.length; i++) {
      const problem = walk(value[i], depth + 1);
      if (problem !== null) {
        problem.keys.push(i);
        return problem;
      }
    }
    ancestors.pop();
    return null;
  }
  // Before toJSON: a Node Buffer has one, which would send its bytes as an array of numbers.
  if (value instanceof Uint8Array) {
    bytesFound = true;
    return null;
  }
  // JSON sends what toJSON returns (a Date's ISO string, a plain object's own toJSON): that is what must be JSON data.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return walk(toJSON.call(value), depth);
  const proto: unknown = Object.getPrototypeOf(value);
  const plain = proto === Object.prototype || proto === null;
  if (!plain) {
    const tag = Object.prototype.toString.call(value);
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
      const name = tag.slice(8, -1);
      return found(value, `a Uint8Array (bytes travel as a Uint8Array: view the ${name}'s bytes through one)`);
    }
    if (tag !== "[object Object]") {
      const name = (proto as { constructor?: { name?: string } } | null)?.constructor?.name || tag.slice(8, -1);
      return found(value, `a plain object or an array (a ${name} has no JSON form: convert it first)`);
    }
  }
  ancestors.push(value);
  const record = value as Record<string, unknown>;
  for (const key in record) {
    // JSON takes own properties only; only an instance of a class can inherit enumerable ones.
    if (!plain && !Object.hasOwn(record, key)) continue;
    if (key === BYTES_KEY) return found(value, `an object without the key "${BYTES_KEY}" (it is reserved for the placeholders of bytes, which travel as a Uint8Array)`);
    const item = record[key];
    // An undefined property is left out, as if it were absent: JSON's reading, and JavaScript's.
    if (item === undefined) continue;
    const problem = walk(item, depth + 1);
    if (problem !== null) {
      problem.keys.push(key);
      return problem;
    }
  }
  ancestors.pop();
  return null;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function pathOf(keys: readonly (string | number)[]): string {
  let path = "args";
  for (const key of keys) path += typeof key === "number" ? `[${key}]` : IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return path;
}
