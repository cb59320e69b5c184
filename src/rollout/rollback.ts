/**
 * The rollback manager: takes V2's share to 0, lets V2's calls in flight
 * settle, stops V2 or keeps it warm, tells whoever asked to be told, and
 * records every step with how long it took.
 *
 * @module
 */
import { boolean, nonNegativeDuration, option, positiveDuration, refuseUnknown, type Rule } from "../config.ts";
import { ConfigError } from "../errors.ts";
import type { Flags } from "../flags/flags.ts";
import type { Pool } from "../pool/types.ts";

/** Options of rollbacks. */
export interface RollbackOptions {
  /** How long V2's calls in flight may take to settle. Default 10000 ms. */
  readonly drainTimeoutMs?: number;
  /** Keep V2's workers running after a rollback (ready for a retry) instead of stopping the pool. Default true. */
  readonly keepWarm?: boolean;
  /** Called after every rollback with its report. Default none. */
  readonly onRollback?: (report: RollbackReport) => void | Promise<void>;
  /** POST the report as JSON to this URL. Default none. */
  readonly webhookUrl?: string;
  /** The webhook's deadline. Default 5000 ms. */
  readonly webhookTimeoutMs?: number;
}

/** One step of a rollback. */
export interface RollbackStep {
  readonly step: "share_zero" | "drain_v2" | "stop_v2" | "notify";
  readonly ok: boolean;
  readonly durationMs: number;
  readonly detail: string;
}

/** What a rollback did. */
export interface RollbackReport {
  readonly rolloutId: string;
  readonly reason: string;
  readonly emergency: boolean;
  readonly startedAt: number;
  readonly steps: readonly RollbackStep[];
  /** V2 calls still in flight when the drain deadline passed (they settle on their own, with a result or a typed error). */
  readonly leftInFlight: number;
}

/** Rollback options after defaults. */
export interface RollbackSettings {
  readonly drainTimeoutMs: number;
  readonly keepWarm: boolean;
  readonly onRollback: ((report: RollbackReport) => void | Promise<void>) | undefined;
  readonly webhookUrl: string | undefined;
  readonly webhookTimeoutMs: number;
}

const callback: Rule<(report: RollbackReport) => void | Promise<void>> = {
  is: (v): v is (report: RollbackReport) => void | Promise<void> => typeof v === "function",
  allowed: "a function (report) => void",
};
const httpUrl: Rule<string> = {
  is: (v): v is string => typeof v === "string" && URL.canParse(v) && /^https?:$/.test(new URL(v).protocol),
  allowed: "an http(s) URL",
};

/** Validate rollback options and apply defaults; a ConfigError names `prefix` + the option, under `owner`. */
export function resolveRollbackOptions(options: RollbackOptions | undefined, owner: string, prefix: string): RollbackSettings {
  const given = options ?? {};
  if (typeof given !== "object" || given === null) throw new ConfigError({ owner, option: prefix.slice(0, -1), received: given, allowed: "an object" });
  refuseUnknown(`${owner}: ${prefix.slice(0, -1)}`, given, ["drainTimeoutMs", "keepWarm", "onRollback", "webhookUrl", "webhookTimeoutMs"]);
  const get = <A, F = A>(name: keyof RollbackOptions, rule: Rule<A>, fallback: F): A | F => option(owner, `${prefix}${name}`, given[name], rule, fallback);
  return {
    drainTimeoutMs: get("drainTimeoutMs", nonNegativeDuration, 10_000),
    keepWarm: get("keepWarm", boolean, true),
    onRollback: get("onRollback", callback, undefined),
    webhookUrl: get("webhookUrl", httpUrl, undefined),
    webhookTimeoutMs: get("webhookTimeoutMs", positiveDuration, 5000),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs rollbacks for one rollout. */
export class RollbackManager {
  constructor(
    private readonly rolloutId: string,
    private readonly flags: Flags,
    private readonly v2: Pool,
    private readonly o: RollbackSettings,
  ) {}

  /**
   * The in-memory flip, synchronous: from the moment this returns no router
   * reading these flags sends a new call to V2.
   */
  flip(): void {
    this.flags.pin("pool_v2_share", 0);
  }

  /** Every step after the flip. The flip itself is done first if it was not. */
  async run(reason: string, emergency: boolean, now: () => number): Promise<RollbackReport> {
    this.flip();
    const startedAt = now();
    const steps: RollbackStep[] = [];
    const step = async (name: RollbackStep["step"], fn: () => Promise<string>): Promise<void> => {
      const t = performance.now();
      let ok = true;
      let detail: string;
      try {
        detail = await fn();
      } catch (e) {
        ok = false;
        detail = String((e as Error).message ?? e);
      }
      steps.push({ step: name, ok, durationMs: performance.now() - t, detail });
    };

    await step("share_zero", async () => {
      await this.flags.set("pool_v2_share", 0, { by: "rollback", reason });
      // Persisted: the stored value now says 0, so the pin can go.
      this.flags.unpin("pool_v2_share");
      return "V2 share 0, persisted";
    });
    let leftInFlight = 0;
    await step("drain_v2", async () => {
      const deadline = performance.now() + this.o.drainTimeoutMs;
      while (this.v2.stats().inFlight + this.v2.stats().queued > 0 && performance.now() < deadline) await sleep(5);
      leftInFlight = this.v2.stats().inFlight + this.v2.stats().queued;
      return leftInFlight === 0 ? "no V2 call in flight" : `${leftInFlight} V2 calls still in flight at the deadline`;
    });
    await step("stop_v2", async () => {
      if (this.o.keepWarm) return "kept warm";
      await this.v2.stop();
      return "V2 stopped";
    });
    const report = (): RollbackReport => ({ rolloutId: this.rolloutId, reason, emergency, startedAt, steps: [...steps], leftInFlight });
    await step("notify", async () => {
      const told: string[] = [];
      if (this.o.onRollback !== undefined) (await this.o.onRollback(report()), told.push("callback"));
      if (this.o.webhookUrl !== undefined) {
        const response = await fetch(this.o.webhookUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(report()),
          signal: AbortSignal.timeout(this.o.webhookTimeoutMs),
        });
        await response.body?.cancel();
        if (!response.ok) throw new Error(`webhook answered ${response.status}`);
        told.push("webhook");
      }
      return told.length === 0 ? "nobody to tell" : `told ${told.join(" and ")}`;
    });
    return report();
  }
}
