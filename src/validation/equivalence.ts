/**
 * Functional equivalence: the same operations on both arms — built-in
 * commands, programs created, executed, listed and deleted, concurrent
 * sessions, error cases, and the caller's own cases — with what
 * legitimately differs normalised away, and every remaining difference
 * reported with both values.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ConfigError } from "../errors.ts";
import type { ExecuteOptions, Pool } from "../pool/types.ts";
import { without } from "../routing/compare.ts";
import { type Difference, differences } from "./diff.ts";

/** What a case can do on one arm. */
export interface ArmClient {
  readonly arm: "v1" | "v2";
  execute<T = unknown>(command: string, args?: unknown, options?: ExecuteOptions): Promise<T>;
  /** Run a program (kept by the validation, sent with the call like the router does). */
  executeProgram<T = unknown>(id: string, inputs: Readonly<Record<string, unknown>>, options?: ExecuteOptions): Promise<T>;
  /** Register a program for this validation run. */
  createProgram(id: string, definition: Readonly<Record<string, unknown>>): void;
  /** Programs registered in this run, by id. */
  listPrograms(): string[];
  deleteProgram(id: string): boolean;
}

/** A case: the same function run against each arm; the results are compared. */
export interface EquivalenceCase {
  readonly name: string;
  run(arm: ArmClient): Promise<unknown>;
}

/** Options of validateEquivalence. */
export interface EquivalenceOptions {
  readonly v1: Pool;
  readonly v2: Pool;
  /** Cases to run. Default: `defaultCases()` (the plan's operations). */
  readonly cases?: readonly EquivalenceCase[];
  /** More cases, run after `cases`. Default none. */
  readonly extraCases?: readonly EquivalenceCase[];
  /** Dotted paths removed from both results before comparing. Default: pids, timings, versions, handler paths. */
  readonly ignore?: readonly string[];
  /** Applied to both results (after `ignore`). Default: none. */
  readonly normalize?: (value: unknown, caseName: string) => unknown;
}

/** One case's outcome. */
export interface CaseResult {
  readonly name: string;
  readonly equal: boolean;
  readonly v1: unknown;
  readonly v2: unknown;
  readonly differences: readonly Difference[];
}

/** The equivalence report. */
export interface EquivalenceReport {
  readonly kind: "equivalence";
  readonly passed: number;
  readonly failed: number;
  readonly cases: readonly CaseResult[];
  /** "fail": a case differs; "insufficient": no case ran; "pass": every case was equal. */
  readonly verdict: "pass" | "fail" | "insufficient";
}

/**
 * What differs between two healthy workers of any version: process ids, timings, versions, paths.
 *
 * @example
 * ```ts
 * import { DEFAULT_IGNORE } from "molt";
 * console.log(DEFAULT_IGNORE.includes("pid")); // true
 * ```
 */
export const DEFAULT_IGNORE: readonly string[] = ["pid", "rss_bytes", "uptime_s", "served", "failed", "python", "handler", "traceback", "programs"];

const errorOf = (e: unknown): unknown => {
  const tag = (e as { _tag?: string } | null)?._tag;
  return { error: tag ?? "Error", ...(tag === "PythonError" ? { type: (e as { type?: string }).type } : {}) };
};

function client(arm: "v1" | "v2", pool: Pool): ArmClient {
  const programs = new Map<string, { hash: string; definition: Readonly<Record<string, unknown>> }>();
  return {
    arm,
    execute: (command, args, options) => pool.execute(command, args, options),
    createProgram(id, definition) {
      programs.set(id, { hash: createHash("sha256").update(JSON.stringify(definition)).digest("hex"), definition });
    },
    executeProgram(id, inputs, options) {
      const p = programs.get(id);
      if (p === undefined) return Promise.reject(new ConfigError({ owner: "validation", option: "program", received: id, allowed: "a program created in this case" }));
      return pool.execute("execute_program", { program: { id, hash: p.hash, definition: p.definition }, inputs }, options);
    },
    listPrograms: () => [...programs.keys()].sort(),
    deleteProgram: (id) => programs.delete(id),
  };
}

/** Errors become comparable values: a case that throws on both arms alike is equal. */
const settle = (p: Promise<unknown>): Promise<unknown> => p.catch(errorOf);

/**
 * The plan's operations: ping and describe, health's shape, a program's
 * create/execute/list/delete (its handler is `programHandler`, a command
 * both arms serve, called with `{ text }`), 20 concurrent sessions, and
 * error cases (an unknown command, a program with missing inputs). *
 * @example
 * ```ts
 * import { defaultCases } from "molt";
 * console.log(defaultCases().length, defaultCases("summarize").length); // 6 8
 * ```
 */
export function defaultCases(programHandler?: string): EquivalenceCase[] {
  const cases: EquivalenceCase[] = [
    { name: "ping", run: (a) => a.execute("ping") },
    { name: "describe: the commands served", run: async (a) => ((await a.execute("describe")) as { commands: { name: string; idempotent: boolean }[] }).commands.map((c) => [c.name, c.idempotent]).sort() },
    { name: "health: what it reports", run: async (a) => Object.keys((await a.execute("health")) as object).sort() },
    {
      name: "concurrent sessions",
      run: (a) => Promise.all(Array.from({ length: 20 }, (_, i) => settle(a.execute("ping", null, { sessionId: `session-${i}` })))),
    },
    { name: "error: unknown command", run: (a) => settle(a.execute("molt.validation.no_such_command")) },
    { name: "error: malformed execute_program", run: (a) => settle(a.execute("execute_program", { nothing: true })) },
  ];
  if (programHandler !== undefined) {
    cases.push(
      {
        name: "program: create, execute, list, delete",
        run: async (a) => {
          a.createProgram("validation-program", { signature: "text -> result", handler: programHandler });
          const result = await settle(a.executeProgram("validation-program", { text: "molt validates both arms" }));
          const listed = a.listPrograms();
          const deleted = a.deleteProgram("validation-program");
          return { result, listed, deleted, after: a.listPrograms() };
        },
      },
      {
        name: "error: program with a missing input",
        run: (a) => {
          a.createProgram("validation-missing", { signature: "text, extra -> result", handler: programHandler });
          return settle(a.executeProgram("validation-missing", { text: "only one" }));
        },
      },
    );
  }
  return cases;
}

/**
 * Run every case on both arms and compare.
 *
 * @example
 * ```ts
 * import { createPool, validateEquivalence } from "molt";
 * const handler = "./test/fixtures/echo_handler.py";
 * const v1 = await createPool({ name: "v1", strategy: "basic", handler, size: 1, heartbeatMs: 0 });
 * const v2 = await createPool({ name: "v2", handler, size: 1, heartbeatMs: 0 });
 * const report = await validateEquivalence({ v1, v2 });
 * console.log(report.failed, report.passed > 0); // 0 true
 * await Promise.all([v1.stop(), v2.stop()]);
 * ```
 */
export async function validateEquivalence(options: EquivalenceOptions): Promise<EquivalenceReport> {
  const cases = [...(options.cases ?? defaultCases()), ...(options.extraCases ?? [])];
  const ignore = (options.ignore ?? DEFAULT_IGNORE).map((p) => p.split("."));
  const normalize = options.normalize ?? ((v) => v);
  const arms = { v1: client("v1", options.v1), v2: client("v2", options.v2) };
  const results: CaseResult[] = [];
  for (const c of cases) {
    const [v1, v2] = await Promise.all([settle(c.run(arms.v1)), settle(c.run(arms.v2))]);
    const [a, b] = [normalize(stripDeep(v1, ignore), c.name), normalize(stripDeep(v2, ignore), c.name)];
    const found = differences(a, b);
    results.push({ name: c.name, equal: found.length === 0, v1, v2, differences: found });
  }
  const passed = results.filter((r) => r.equal).length;
  const failed = results.length - passed;
  return { kind: "equivalence", passed, failed, cases: results, verdict: failed > 0 ? "fail" : passed === 0 ? "insufficient" : "pass" };
}

/** Ignored keys are removed wherever they appear, at any depth, as well as along exact dotted paths. */
function stripDeep(value: unknown, paths: readonly (readonly string[])[]): unknown {
  const names = new Set(paths.filter((p) => p.length === 1).map((p) => p[0]!));
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== "object") return v;
    return Object.fromEntries(Object.entries(v).filter(([k]) => !names.has(k)).map(([k, x]) => [k, walk(x)]));
  };
  return walk(without(value, paths.filter((p) => p.length > 1)));
}
