/**
 * The part of bun:test the suite uses, on node:test and Jest's `expect`, so
 * that the suite's runtime-neutral files run under Node unchanged. Bun's
 * semantics are kept where they differ: a test's third argument is its
 * timeout, and the default timeout is Bun's 5 seconds.
 *
 * @module
 */
import { after, afterEach as nodeAfterEach, before, beforeEach as nodeBeforeEach, describe as nodeDescribe, mock, test as nodeTest } from "node:test";
import { format } from "node:util";
import { expect as jestExpect } from "expect";

const BUN_DEFAULT_TIMEOUT_MS = 5_000;
/**
 * Timeouts were set for Bun, which starts a TypeScript child in about 0.3 s;
 * Node transforms every module of molt first (about 3 s of CPU per child on
 * this machine), so a test that starts children gets three times as long.
 */
const NODE_TIMEOUT_FACTOR = 3;

type Body = () => unknown;
type Timeout = number | { timeout?: number };

/** This file's default (each test file runs in a process of its own under `node --test`). */
let defaultTimeoutMs = BUN_DEFAULT_TIMEOUT_MS;

const timeoutOf = (t: Timeout | undefined): number =>
  NODE_TIMEOUT_FACTOR * (typeof t === "number" ? t : t?.timeout ?? defaultTimeoutMs);

/** bun:test's `setDefaultTimeout`: the timeout of the tests registered after it in this file that set none. */
export function setDefaultTimeout(ms: number): void {
  defaultTimeoutMs = ms;
}

const formatName = (name: string, row: unknown, index: number): string =>
  name.replaceAll("%#", String(index)).includes("%") ? format(name, ...(Array.isArray(row) ? row : [row])) : name;

function eachOf<Run extends (name: string, fn: Body, timeout?: Timeout) => unknown>(run: Run) {
  return (rows: readonly unknown[]) =>
    (name: string, fn: (...args: never[]) => unknown, timeout?: Timeout): void => {
      rows.forEach((row, i) => {
        const args = (Array.isArray(row) ? row : [row]) as never[];
        run(formatName(name, row, i), () => fn(...args), timeout);
      });
    };
}

function makeTest(skip: boolean) {
  return (name: string, fn: Body, timeout?: Timeout): void => {
    nodeTest(name, { timeout: timeoutOf(timeout), skip }, async () => {
      await fn();
    });
  };
}

/** bun:test's `test`. */
export const test = Object.assign(makeTest(false), {
  skip: makeTest(true),
  skipIf: (condition: unknown) => makeTest(Boolean(condition)),
  if: (condition: unknown) => makeTest(!condition),
  each: eachOf(makeTest(false)),
});

function makeDescribe(skip: boolean) {
  return (name: string, fn: () => void): void => {
    nodeDescribe(name, { skip }, fn);
  };
}

/** bun:test's `describe`. */
export const describe = Object.assign(makeDescribe(false), {
  skip: makeDescribe(true),
  skipIf: (condition: unknown) => makeDescribe(Boolean(condition)),
  if: (condition: unknown) => makeDescribe(!condition),
});

const hook = (register: (fn: () => Promise<void>, options: { timeout: number }) => void) =>
  (fn: Body, timeout?: Timeout): void => register(async () => {
    await fn();
  }, { timeout: timeoutOf(timeout) });

/** bun:test's `beforeAll`. */
export const beforeAll = hook(before);
/** bun:test's `afterAll`. */
export const afterAll = hook(after);
/** bun:test's `beforeEach`. */
export const beforeEach = hook(nodeBeforeEach);
/** bun:test's `afterEach`. */
export const afterEach = hook(nodeAfterEach);

jestExpect.extend({
  toStartWith(received: string, prefix: string) {
    const pass = typeof received === "string" && received.startsWith(prefix);
    return { pass, message: () => `expected ${JSON.stringify(received)} ${pass ? "not " : ""}to start with ${JSON.stringify(prefix)}` };
  },
  toEndWith(received: string, suffix: string) {
    const pass = typeof received === "string" && received.endsWith(suffix);
    return { pass, message: () => `expected ${JSON.stringify(received)} ${pass ? "not " : ""}to end with ${JSON.stringify(suffix)}` };
  },
  toBeNumber(received: unknown) {
    const pass = typeof received === "number";
    return { pass, message: () => `expected ${String(received)} ${pass ? "not " : ""}to be a number` };
  },
});

/** bun:test's `expect`: Jest's, plus Bun's toStartWith, toEndWith and toBeNumber. */
export const expect = jestExpect;

/** bun:test's `setSystemTime`: `Date` reads `time` until called with none. */
export function setSystemTime(time?: Date | number): void {
  mock.timers.reset();
  if (time !== undefined) mock.timers.enable({ apis: ["Date"], now: time });
}
