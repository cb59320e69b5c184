/**
 * `validation_results`: what each validation run measured (equivalence,
 * load, …), kept so that reports and stage checklists can cite it.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { jsonColumn, JsonObject, Millis, rowCodec } from "../codec.ts";
import type { Driver, SqlRow } from "../driver.ts";

/** A stored validation result. */
export const ValidationResult: Schema.Codec<ValidationResult> = Schema.Struct({
  id: Schema.Int,
  target: Schema.NonEmptyString,
  kind: Schema.NonEmptyString,
  at: Millis,
  verdict: Schema.Literals(["pass", "fail", "insufficient"]),
  report: JsonObject,
});
/** A stored validation result. */
export type ValidationResult = {
  readonly id: number;
  /** The migration it was run for. */
  readonly target: string;
  readonly kind: string;
  readonly at: number;
  /** "pass", "fail", or "insufficient" (too little evidence either way). */
  readonly verdict: "pass" | "fail" | "insufficient";
  readonly report: JsonObject;
};

const codec = rowCodec(
  "validation_results",
  ValidationResult,
  (r) => `id=${r.id}`,
  (r: SqlRow) => ({ id: r.id, target: r.target, kind: r.kind, at: r.at, verdict: r.verdict, report: jsonColumn(r, "report") }),
);

/**
 * Validation results.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.validations.record({ target: "m1", kind: "load", verdict: "pass", report: { kind: "load" } });
 * console.log((await store.validations.list("m1"))[0]?.verdict); // pass
 * await store.close();
 * ```
 */
export class Validations {
  /** @internal */
  constructor(private readonly driver: Driver, private readonly now: () => number) {}

  /** Store a result. */
  async record(r: { target: string; kind: string; verdict: "pass" | "fail" | "insufficient"; report: Record<string, unknown> }): Promise<void> {
    const v = codec.write({ id: 0, ...r, at: this.now(), report: JSON.parse(JSON.stringify(r.report)) }, `target=${r.target},kind=${r.kind}`);
    await this.driver.run("INSERT INTO validation_results (target, kind, at, verdict, report) VALUES (?, ?, ?, ?, ?)", [
      v.target, v.kind, v.at, v.verdict, JSON.stringify(v.report),
    ]);
  }

  /** A target's results, oldest first. */
  async list(target: string): Promise<ValidationResult[]> {
    return (await this.driver.all("SELECT id, target, kind, at, verdict, report FROM validation_results WHERE target = ? ORDER BY id", [target])).map((r) => codec.read(r));
  }
}
