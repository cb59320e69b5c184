/**
 * Shadow comparison (dark launch): for a sample of calls of chosen
 * idempotent commands, the other arm (or, in A/A mode, the same one) runs
 * the same call once, under its own timeout. The caller gets the serving
 * arm's answer and waits for nothing else; the two answers are compared
 * afterwards, counted per command, and mismatches recorded in the store.
 *
 * @module
 */
import { positiveDuration, refuser } from "../config.ts";
import { classifyError } from "../resilience/classify.ts";
import type { Store } from "../store/store.ts";
import type { EventBus } from "../telemetry/events.ts";
import type { Pool } from "../pool/types.ts";
import { errorKey, jsonEqual, type Outcome, trimmed, without } from "./compare.ts";
import type { Arm } from "./route.ts";

/** Shadow settings of a router. */
export interface ShadowOptions {
  /** Share of eligible calls that are shadowed, 0–1. Required. */
  readonly sampleRate: number;
  /** The commands that may be shadowed (they must be safe to run twice). Required. */
  readonly commands: readonly string[];
  /** `"other-arm"` compares V1 with V2; `"same-arm"` (A/A) runs the serving arm twice to measure the noise floor. Default `"other-arm"`. */
  readonly mode?: "other-arm" | "same-arm";
  /** The shadow call's own deadline. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Dotted paths removed from both answers before comparing (`"meta.took_ms"`). Default none. */
  readonly ignore?: readonly string[];
  /** Applied to both answers (after `ignore`) before comparing. Default: none. */
  readonly normalize?: (value: unknown, command: string) => unknown;
  /** Largest JSON text kept per value in a recorded mismatch. Default 2048. */
  readonly maxRecordBytes?: number;
  /** The sampling draw, 0–1. Default `Math.random`. */
  readonly random?: () => number;
}

/** Shadow counts of one command. */
export interface ShadowCounts {
  /** Calls shadowed. */
  readonly sampled: number;
  readonly matched: number;
  readonly mismatched: number;
  /** Shadow calls that failed for infrastructure reasons (timeout, crash, refusal): not compared. */
  readonly failed: number;
  /** Shadowed calls not yet compared. */
  readonly pending: number;
  /** mismatched / (matched + mismatched), 0 when nothing was compared. */
  readonly mismatchRate: number;
}

interface Mutable {
  sampled: number;
  matched: number;
  mismatched: number;
  failed: number;
}

const outcomeOf = (p: Promise<unknown>): Promise<Outcome> =>
  p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error: errorKey(error) }));

/** Shadow options after defaults. */
export interface ShadowSettings {
  readonly mode: "other-arm" | "same-arm";
  readonly commands: ReadonlySet<string>;
  readonly sampleRate: number;
  readonly timeoutMs: number;
  readonly ignore: readonly (readonly string[])[];
  readonly normalize: (value: unknown, command: string) => unknown;
  readonly maxRecordBytes: number;
  readonly random: () => number;
}

/** Validate shadow options and apply defaults; a ConfigError names `prefix` + the option, under `owner`. */
export function resolveShadowOptions(o: ShadowOptions, owner: string, prefix: string): ShadowSettings {
  const bad = refuser(owner, prefix);
  if (typeof o !== "object" || o === null) bad("options", o, "an object { sampleRate, commands, … } or false");
  if (typeof o.sampleRate !== "number" || !(o.sampleRate >= 0 && o.sampleRate <= 1)) bad("sampleRate", o.sampleRate, "a number from 0 to 1");
  if (!Array.isArray(o.commands) || o.commands.some((c) => typeof c !== "string" || c.length === 0)) bad("commands", o.commands, "an array of command names");
  if (o.mode !== undefined && o.mode !== "other-arm" && o.mode !== "same-arm") bad("mode", o.mode, '"other-arm" or "same-arm"');
  if (o.timeoutMs !== undefined && !positiveDuration.is(o.timeoutMs)) bad("timeoutMs", o.timeoutMs, positiveDuration.allowed);
  if (o.ignore !== undefined && (!Array.isArray(o.ignore) || o.ignore.some((p) => typeof p !== "string" || p.length === 0))) bad("ignore", o.ignore, "an array of dotted paths");
  if (o.normalize !== undefined && typeof o.normalize !== "function") bad("normalize", o.normalize, "a function");
  if (o.maxRecordBytes !== undefined && !(Number.isInteger(o.maxRecordBytes) && o.maxRecordBytes > 0)) bad("maxRecordBytes", o.maxRecordBytes, "a positive integer");
  if (o.random !== undefined && typeof o.random !== "function") bad("random", o.random, "a function returning 0–1");
  return {
    mode: o.mode ?? "other-arm",
    commands: new Set(o.commands),
    sampleRate: o.sampleRate,
    timeoutMs: o.timeoutMs ?? 5000,
    ignore: (o.ignore ?? []).map((p) => p.split(".")),
    normalize: o.normalize ?? ((v) => v),
    maxRecordBytes: o.maxRecordBytes ?? 2048,
    random: o.random ?? Math.random,
  };
}

/** Shadow settings and counts; `maybe` shadows one call. */
export class Shadow {
  readonly mode: "other-arm" | "same-arm";
  private readonly commands: ReadonlySet<string>;
  private readonly rate: number;
  private readonly timeoutMs: number;
  private readonly ignore: readonly (readonly string[])[];
  private readonly normalize: (value: unknown, command: string) => unknown;
  private readonly maxRecordBytes: number;
  private readonly random: () => number;
  private readonly counts = new Map<string, Mutable>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(settings: ShadowSettings, private readonly store: Store, private readonly events: EventBus, private readonly rolloutId: string | null) {
    this.mode = settings.mode;
    this.commands = settings.commands;
    this.rate = settings.sampleRate;
    this.timeoutMs = settings.timeoutMs;
    this.ignore = settings.ignore;
    this.normalize = settings.normalize;
    this.maxRecordBytes = settings.maxRecordBytes;
    this.random = settings.random;
  }

  /**
   * Shadow this call if it is eligible (an idempotent call of a listed
   * command) and sampled. Never throws, never touches `serving`'s outcome.
   */
  maybe(
    command: string,
    args: unknown,
    sessionId: string | undefined,
    idempotent: boolean,
    serving: Promise<unknown>,
    route: { readonly arm: Arm },
    pools: Readonly<Record<Arm, Pool>>,
  ): void {
    if (!idempotent || !this.commands.has(command) || this.rate === 0 || this.random() >= this.rate) return;
    const intended = route.arm;
    const shadowArm: Arm = this.mode === "same-arm" ? intended : intended === "v1" ? "v2" : "v1";
    // idempotent: false — the shadow runs exactly once, never retried.
    const shadow = pools[shadowArm].execute(command, args, { sessionId, timeoutMs: this.timeoutMs, idempotent: false });
    this.count(command).sampled++;
    const shadowPool = pools[shadowArm].name;
    const done = Promise.all([outcomeOf(serving), shadow.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))])
      .then(([a, b]) => this.judge(command, route.arm, shadowArm, shadowPool, a, b));
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  /** Counts per command. */
  stats(): Record<string, ShadowCounts> {
    const out: Record<string, ShadowCounts> = {};
    for (const [command, c] of this.counts) {
      const compared = c.matched + c.mismatched;
      out[command] = { ...c, pending: c.sampled - compared - c.failed, mismatchRate: compared === 0 ? 0 : c.mismatched / compared };
    }
    return out;
  }

  /** Wait for every shadow call already started to be compared and recorded. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private count(command: string): Mutable {
    let c = this.counts.get(command);
    if (c === undefined) this.counts.set(command, c = { sampled: 0, matched: 0, mismatched: 0, failed: 0 });
    return c;
  }

  private async judge(command: string, servingArm: Arm, shadowArm: Arm, pool: string, serving: Outcome, raw: { ok: true; value: unknown } | { ok: false; error: unknown }): Promise<void> {
    const c = this.count(command);
    const at = Date.now();
    // A serving call that fell back onto the shadow's arm leaves nothing to compare against.
    const unpaired = this.mode === "other-arm" && servingArm === shadowArm;
    if (unpaired || (!raw.ok && classifyError(raw.error).category !== "python")) {
      c.failed++;
      this.events.emit({ type: "shadow.compared", pool, at, command, servingArm, shadowArm, outcome: "failed" });
      return;
    }
    const shadow: Outcome = raw.ok ? raw : { ok: false, error: errorKey(raw.error) };
    const same = serving.ok && shadow.ok
      ? this.equal(command, serving.value, shadow.value)
      : !serving.ok && !shadow.ok && serving.error === shadow.error;
    if (same) c.matched++;
    else c.mismatched++;
    this.events.emit({ type: "shadow.compared", pool, at, command, servingArm, shadowArm, outcome: same ? "match" : "mismatch" });
    if (same) return;
    await this.store.shadowMismatches.record({
      command,
      servingArm,
      shadowArm,
      serving: trimmed(serving, this.maxRecordBytes) as never,
      shadow: trimmed(shadow, this.maxRecordBytes) as never,
      at,
      rolloutId: this.rolloutId,
    }).catch((e: unknown) => this.events.emit({ type: "store.failed", pool, at, operation: "shadow.record", detail: String((e as Error).message ?? e) }));
  }

  private equal(command: string, a: unknown, b: unknown): boolean {
    try {
      return jsonEqual(this.normalize(without(a, this.ignore), command), this.normalize(without(b, this.ignore), command));
    } catch {
      // A normalize that throws cannot vouch for equality.
      return false;
    }
  }
}
