/**
 * The rollout controller: drives machines/rollout.ts (persisted in the
 * store) with the monitor's judgement of both pools, applies the share each
 * state stands for to the flags, runs rollbacks, records every decision, and
 * takes operator commands.
 *
 * @module
 */
import type { SnapshotFrom } from "xstate";
import {
  DEFAULT_PLAN,
  ROLLOUT_MACHINE_VERSION,
  rolloutDetail,
  rolloutMachine,
  type RolloutEvent,
  type RolloutPlan,
  type RolloutState,
  rolloutState,
  shareOf,
} from "../../machines/rollout.ts";
import { boolean, clockRule, nonEmptyString, type Rule, idRule, nonNegativeDuration, option, positiveDuration, positiveInt, refuseUnknown, required, refuser } from "../config.ts";
import { ConfigError, FencedError, RolloutError } from "../errors.ts";
import { type Flags, flagsRule } from "../flags/flags.ts";
import { judge, type Judgement } from "../monitor/judge.ts";
import { resolveThresholds, type Thresholds } from "../monitor/thresholds.ts";
import { type Notifier, notifierRule } from "../notify/notifier.ts";
import { type Pool, poolRule } from "../pool/types.ts";
import type { Router } from "../routing/router.ts";
import { type PersistedActor, persistActor } from "../store/persist-actor.ts";
import type { Fence } from "../store/fence.ts";
import { fencedStore, type Store, storeRule } from "../store/store.ts";
import { CHECKLIST_STAGES, stageChecklist } from "../validation/checklist.ts";
import { Announcer } from "./announcer.ts";
import { type ArmSource, forRecord, LocalArms } from "./arm-window.ts";
import { RollbackManager, type RollbackOptions, type RollbackReport, type RollbackSettings, resolveRollbackOptions } from "./rollback.ts";
import { RolloutEventStream } from "./rollout-events.ts";

/** Options of createRolloutController. */
export interface RolloutOptions {
  readonly v1: Pool;
  readonly v2: Pool;
  readonly flags: Flags;
  readonly store: Store;
  /** Read for shadow mismatch counts when given. Default none. */
  readonly router?: Router;
  /** The rollout's id (its actor is `rollout:<id>`). Default "rollout". */
  readonly rolloutId?: string;
  /** The plan; what is left out comes from the default (5/10/25/50/75% over 16 hours). */
  readonly plan?: Partial<RolloutPlan>;
  /** The monitor's thresholds; what is left out is the plan's. */
  readonly thresholds?: Partial<Thresholds>;
  /** The A/A shadow mismatch rate V2's is compared with. Default 0. */
  readonly noiseFloor?: number;
  /** What a rollback does besides setting the share to 0. */
  readonly rollback?: RollbackOptions;
  /** The clock of the rollout (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Hold a stage with a plan checklist (5, 25, 50%) until its checklist
   * passes, and refuse `promote()` while the current stage's fails. Default false.
   */
  readonly requireChecklist?: boolean;
  /**
   * Failed ticks in a row after which the rollout holds: its share stays
   * where it is and its stage clock stops until a tick succeeds again (the
   * time held does not count toward the stage). Default 3.
   */
  readonly maxTickFailures?: number;
  /**
   * Where the judged windows come from. Default: the two pools of this
   * process and the router's shadow counts; a fleet node passes the merged
   * windows of every node.
   */
  readonly arms?: ArmSource;
  /**
   * Write only while this lease term holds: journal, snapshots, decisions
   * and the share are refused with a FencedError once another node leads.
   * Default: unfenced (one process leads the rollout).
   */
  readonly fence?: Fence;
  /**
   * Roll back before anything else on restore, with this reason: an
   * emergency rollback requested while no process ran the rollout (a fleet
   * with no leader). The share is never set back up first. Default: none.
   */
  readonly rollbackOnRestore?: string;
  /**
   * Publish the rollout's events (docs/notifications.md) on this stream, one
   * per decision recorded. Default: a stream of its own, which the
   * `notify` notifiers still hear.
   */
  readonly events?: RolloutEventStream;
  /** Tell these notifiers about the rollout's events while the controller runs (they stay the caller's to close). Default none. */
  readonly notify?: readonly Notifier[];
}

/** Ticks that failed in a row, and whether the rollout holds because of them. */
export interface TickFailures {
  /** Failed ticks in a row (0 once one succeeds). */
  readonly consecutive: number;
  /** The last failure: its error's tag and message, and when. */
  readonly lastError: string;
  readonly lastAt: number;
  /** Since when the rollout holds (after `maxTickFailures` in a row), or null. */
  readonly heldSince: number | null;
}

/** Where a rollout stands. */
export interface RolloutStatus {
  readonly rolloutId: string;
  readonly state: RolloutState;
  /** "active.shadow", "active.stage", … */
  readonly detail: string;
  /** The current stage (1-based), or null before the first. */
  readonly stage: number | null;
  readonly stages: number;
  readonly shareBp: number;
  readonly elapsedMs: number;
  readonly samples: { readonly v1: number; readonly v2: number };
  readonly pauseReason: string | null;
  readonly rollbackReason: string | null;
  readonly cooldownUntil: number | null;
  readonly lastJudgement: Judgement | null;
  /** Failed ticks, while the last tick failed (or the rollout holds); null when the last tick succeeded. */
  readonly tickFailures: TickFailures | null;
}

/** Who asked for an operator's command: recorded with its decision (`inputs.by`). */
export interface OperatorMeta {
  readonly by?: string;
}

/** A running rollout. */
export interface RolloutController {
  readonly rolloutId: string;
  /** Start (or, after a cool-down, restart) the rollout. Safe to repeat while running. */
  start(): Promise<RolloutStatus>;
  /**
   * Judge the current window of both arms and let the machine act on it.
   * A failure rejects, emits `rollout.tick_failed` and counts toward
   * `maxTickFailures`.
   */
  tick(): Promise<Judgement>;
  pause(reason?: string, meta?: OperatorMeta): Promise<RolloutStatus>;
  resume(meta?: OperatorMeta): Promise<RolloutStatus>;
  /** Skip the remaining stages: V2 takes 100%. */
  promote(meta?: OperatorMeta): Promise<RolloutStatus>;
  /**
   * Move one stage on now: from shadow to the first stage, from the last
   * stage to promoted; a paused rollout resumes in the next stage.
   */
  promoteStage(meta?: OperatorMeta): Promise<RolloutStatus>;
  /** Roll back. Resolves when the rollback is done. */
  rollback(reason?: string, meta?: OperatorMeta): Promise<RollbackReport | null>;
  /** Roll back, recorded as an operator's abort (`operator.abort`). Resolves when the rollback is done. */
  abort(reason?: string, meta?: OperatorMeta): Promise<RollbackReport | null>;
  /**
   * Roll back now: the share is 0 in memory before this returns its
   * promise (no new V2 call after it); persisting and the other steps follow.
   */
  emergencyRollback(reason?: string, meta?: OperatorMeta): Promise<RollbackReport | null>;
  status(): RolloutStatus;
  /** Judge every `everyMs` until `stop()`; a failed tick is reported (event, decision, status), not thrown. */
  run(everyMs: number): void;
  /** Stop judging and write the rollout's final snapshot. The pools are the caller's. */
  stop(): Promise<void>;
}

type Snapshot = SnapshotFrom<typeof rolloutMachine>;


/** The options of a rollout besides its pools, flags, store, router, id and clock: what a migration passes on to its rollout. */
export const ROLLOUT_SETTINGS = ["plan", "thresholds", "noiseFloor", "rollback", "requireChecklist", "maxTickFailures", "events", "notify"] as const;

/** A rollout's settings after defaults. */
export interface RolloutSettings {
  readonly plan: RolloutPlan;
  readonly thresholds: Thresholds;
  readonly noiseFloor: number;
  readonly rollback: RollbackSettings;
  readonly requireChecklist: boolean;
  readonly maxTickFailures: number;
  readonly events: RolloutEventStream | undefined;
  readonly notify: readonly Notifier[];
}

function resolvePlan(given: Partial<RolloutPlan> | undefined, owner: string, prefix: string): RolloutPlan {
  const plan = { ...DEFAULT_PLAN, ...given };
  const bad = refuser(owner, `${prefix}plan.`);
  if (!Array.isArray(plan.stages) || plan.stages.length === 0) bad("stages", plan.stages, "a non-empty array of stages");
  let last = 0;
  plan.stages.forEach((s, i) => {
    if (!Number.isInteger(s?.weightBp) || s.weightBp <= last || s.weightBp > 10_000) bad(`stages[${i}].weightBp`, s?.weightBp, `an integer above the previous stage's (${last}) and at most 10000`);
    if (!nonNegativeDuration.is(s.minDurationMs)) bad(`stages[${i}].minDurationMs`, s.minDurationMs, nonNegativeDuration.allowed);
    if (!Number.isInteger(s.minSamples) || s.minSamples < 0) bad(`stages[${i}].minSamples`, s.minSamples, "a non-negative integer");
    last = s.weightBp;
  });
  for (const key of ["shadowMs", "cooldownMs"] as const) if (!nonNegativeDuration.is(plan[key])) bad(key, plan[key], nonNegativeDuration.allowed);
  for (const key of ["failuresToRollback", "inconclusiveToPause"] as const) if (!Number.isInteger(plan[key]) || plan[key] < 1) bad(key, plan[key], "a positive integer");
  return plan;
}

/**
 * Validate a rollout's settings (the {@link ROLLOUT_SETTINGS} of `given`)
 * and apply defaults; a ConfigError names `prefix` + the option, under
 * `owner`. A migration checks its rollout's this way before it starts anything.
 */
export function resolveRolloutSettings(given: Pick<RolloutOptions, (typeof ROLLOUT_SETTINGS)[number]>, owner: string, prefix: string): RolloutSettings {
  const noiseFloor = given.noiseFloor ?? 0;
  if (typeof noiseFloor !== "number" || !(noiseFloor >= 0 && noiseFloor < 1)) {
    throw new ConfigError({ owner, option: `${prefix}noiseFloor`, received: noiseFloor, allowed: "a number from 0 to 1 (exclusive)" });
  }
  return {
    plan: resolvePlan(given.plan, owner, prefix),
    thresholds: resolveThresholds(given.thresholds, owner, prefix),
    noiseFloor,
    rollback: resolveRollbackOptions(given.rollback, owner, `${prefix}rollback.`),
    requireChecklist: option(owner, `${prefix}requireChecklist`, given.requireChecklist, boolean, false),
    maxTickFailures: option(owner, `${prefix}maxTickFailures`, given.maxTickFailures, positiveInt, 3),
    events: option(owner, `${prefix}events`, given.events, eventStreamRule, undefined),
    notify: resolveNotify(given.notify, owner, `${prefix}notify`),
  };
}

const eventStreamRule: Rule<RolloutEventStream> = { is: (v): v is RolloutEventStream => v instanceof RolloutEventStream, allowed: "a RolloutEventStream" };

function resolveNotify(given: unknown, owner: string, name: string): readonly Notifier[] {
  if (given === undefined) return [];
  if (!Array.isArray(given)) throw new ConfigError({ owner, option: name, received: given, allowed: "an array of notifiers" });
  given.forEach((n, i) => required(owner, `${name}[${i}]`, n, notifierRule));
  return given;
}

/**
 * Restore (or create) a rollout and its controller. A rollout that was
 * mid-stage when its process died resumes that stage with the elapsed time
 * it had; one that was rolling back finishes the rollback.
 *
 * @example
 * ```ts
 * import { createFlags, createPool, createRolloutController, openStore } from "molt";
 * const store = await openStore(":memory:");
 * const flags = await createFlags({ store, env: {} });
 * const handler = "./test/fixtures/echo_handler.py";
 * const v1 = await createPool({ name: "v1", strategy: "basic", handler, size: 1, heartbeatMs: 0 });
 * const v2 = await createPool({ name: "v2", handler, size: 1, heartbeatMs: 0 });
 * const rollout = await createRolloutController({ v1, v2, flags, store, plan: { shadowMs: 0 } });
 * await rollout.start();
 * await rollout.tick();
 * console.log(rollout.status().stage, flags.share()); // 1 500
 * await rollout.emergencyRollback("demo");
 * console.log(rollout.status().state, flags.share()); // rolledBack 0
 * await rollout.stop();
 * await Promise.all([v1.stop(), v2.stop()]);
 * await flags.close();
 * await store.close();
 * ```
 */
export async function createRolloutController(options: RolloutOptions): Promise<RolloutController> {
  refuseUnknown("rollout", options, ["v1", "v2", "flags", "store", "router", "rolloutId", "now", "arms", "fence", "rollbackOnRestore", ...ROLLOUT_SETTINGS]);
  required("rollout", "v1", options.v1, poolRule);
  required("rollout", "v2", options.v2, poolRule);
  required("rollout", "flags", options.flags, flagsRule);
  required("rollout", "store", options.store, storeRule);
  const rolloutId = option("rollout", "rolloutId", options.rolloutId, idRule, "rollout");
  const settings = resolveRolloutSettings(options, "rollout", "");
  const now = option("rollout", "now", options.now, clockRule, Date.now);
  const arms = option("rollout", "arms", options.arms, armSourceRule, undefined);
  const fence = option("rollout", "fence", options.fence, fenceRule, undefined);
  const store = fence === undefined ? options.store : fencedStore(options.store, fence);
  const actor = await persistActor(rolloutMachine, {
    actorId: `rollout:${rolloutId}`,
    machineVersion: ROLLOUT_MACHINE_VERSION,
    store,
    input: { rolloutId, plan: settings.plan },
    now,
    snapshotEvery: 20,
  });
  const controller = new Controller({ ...options, store }, rolloutId, settings, now, actor, arms ?? new LocalArms(options.v1, options.v2, options.router, settings.noiseFloor), fence);
  try {
    await controller.recover(option("rollout", "rollbackOnRestore", options.rollbackOnRestore, nonEmptyString, undefined));
  } catch (e) {
    // A restore refused half-way (its term ended, the store went away) leaves nothing running behind the error.
    await controller.stop().catch(() => {});
    throw e;
  }
  return controller;
}

const armSourceRule: Rule<ArmSource> = { is: (v): v is ArmSource => typeof (v as ArmSource | null)?.read === "function", allowed: "an ArmSource (an object with read(at))" };
const fenceRule: Rule<Fence> = { is: (v): v is Fence => typeof (v as Fence | null)?.check === "function", allowed: "a Fence from store.leases.fence()" };

class Controller implements RolloutController {
  private readonly rollbacks: RollbackManager;
  private readonly announcer: Announcer;
  private lastJudgement: Judgement | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private ticking: Promise<unknown> | null = null;
  private rollingBack: Promise<RollbackReport | null> | null = null;
  private stopped = false;
  private failures: TickFailures | null = null;
  private tickChain: Promise<unknown> = Promise.resolve();
  /** When a tick last succeeded (or the controller started), on the rollout's clock. */
  private lastOkAt: number;

  constructor(
    private readonly o: RolloutOptions,
    readonly rolloutId: string,
    private readonly settings: RolloutSettings,
    private readonly now: () => number,
    private readonly actor: PersistedActor<typeof rolloutMachine>,
    private readonly arms: ArmSource,
    private readonly fence: Fence | undefined,
  ) {
    this.rollbacks = new RollbackManager(rolloutId, o.flags, o.v2, settings.rollback);
    this.announcer = new Announcer(settings.events ?? new RolloutEventStream(), settings.notify);
    this.lastOkAt = now();
  }

  /** After a restore: the time away does not count, the flags match the state, an interrupted rollback finishes. */
  async recover(emergency: string | undefined): Promise<void> {
    // Before the restored event, whose reconciling would set the share back up.
    if (emergency !== undefined && ["active", "paused", "promoted"].includes(this.state())) {
      this.rollbacks.flip();
      await this.send({ type: "rollback.requested", now: this.now(), reason: emergency }, "operator.emergency_rollback", emergency);
    }
    if (this.actor.restore.kind === "restored") await this.send({ type: "controller.restored", now: this.now() }, "restored", "the controller started again");
    await this.reconcile("restored");
    if (this.state() === "rollingBack") await this.finishRollback(this.actor.getSnapshot().context.rollbackReason ?? "rollback", false);
  }

  async start(): Promise<RolloutStatus> {
    const state = this.state();
    if (state === "active" || state === "paused" || state === "promoted") return this.status();
    const { cooldownUntil } = this.actor.getSnapshot().context;
    if (state === "rollingBack" || (state === "rolledBack" && cooldownUntil !== null && this.now() < cooldownUntil)) {
      const until = cooldownUntil === null ? "the rollback finishes" : new Date(cooldownUntil).toISOString();
      throw new RolloutError({ rolloutId: this.rolloutId, command: "start", state: `${state} (cooling down until ${until})`, allowed: "idle, rolledBack after its cool-down" });
    }
    await this.send({ type: "rollout.started", now: this.now() }, "started", "operator started the rollout");
    return this.status();
  }

  tick(): Promise<Judgement> {
    // One tick at a time, whoever asks (run()'s timer, a caller's own loop): a window is judged once.
    const next = this.tickChain.then(() => this.tickOnce());
    this.tickChain = next.catch(() => {});
    return next;
  }

  private async tickOnce(): Promise<Judgement> {
    const held = this.failures?.heldSince != null;
    try {
      // Back from a hold: the time since the last good tick must not count toward the stage.
      if (held) await this.actor.send({ type: "controller.restored", now: this.now() });
      const judgement = await this.judgeOnce();
      if (held) await this.recovered();
      this.failures = null;
      this.lastOkAt = this.now();
      return judgement;
    } catch (e) {
      await this.tickFailed(e);
      throw e;
    }
  }

  /** A failed tick: counted, told on the bus, recorded where the store allows; enough in a row and the rollout holds. */
  private async tickFailed(e: unknown): Promise<void> {
    const at = this.now();
    const error = (e as { _tag?: string } | null | undefined)?._tag ?? "Error";
    const detail = String((e as Error | null | undefined)?.message ?? e);
    const consecutive = (this.failures?.consecutive ?? 0) + 1;
    const holds = this.failures?.heldSince == null && consecutive >= this.settings.maxTickFailures;
    const heldSince = holds ? at : this.failures?.heldSince ?? null;
    this.failures = { consecutive, lastError: `${error}: ${detail}`, lastAt: at, heldSince };
    const pool = this.o.v2.name;
    this.o.v2.events.emit({ type: "rollout.tick_failed", pool, at: Date.now(), rolloutId: this.rolloutId, error, detail, consecutive });
    if (holds) this.o.v2.events.emit({ type: "rollout.held", pool, at: Date.now(), rolloutId: this.rolloutId, failures: consecutive, detail });
    const reason = holds
      ? `held after ${consecutive} failed ticks in a row: the share stays at ${shareOf(this.actor.getSnapshot()) / 100}% and the stage clock stops until a tick succeeds (last: ${error}: ${detail})`
      : `tick ${consecutive} in a row failed: ${error}: ${detail}`;
    await this.record(holds ? "held" : "tick_failed", at, reason, { error, detail, consecutive }).catch(() => {});
  }

  /** A tick succeeded after a hold: recorded and told, with the time that did not count. */
  private async recovered(): Promise<void> {
    const f = this.failures!;
    const at = this.now();
    const discardedMs = Math.max(0, at - this.lastOkAt);
    const reason = `ticks succeed again after ${f.consecutive} failures; the ${Math.round(discardedMs / 1000)} s since the last successful tick did not count toward the stage (last failure: ${f.lastError})`;
    await this.record("recovered", at, reason, { failures: f.consecutive, discardedMs, lastError: f.lastError });
    this.o.v2.events.emit({ type: "rollout.recovered", pool: this.o.v2.name, at: Date.now(), rolloutId: this.rolloutId, failures: f.consecutive, discardedMs });
  }

  private async judgeOnce(): Promise<Judgement> {
    const at = this.now();
    const reading = await this.arms.read(at);
    const { v1: a, v2: b, shadow } = reading;
    const judged = judge({ v1: a.window, v2: b.window, shadow }, this.settings.thresholds);
    const outlier = judged.verdict === "fail" ? reading.outlier ?? null : null;
    const judgement = outlier === null ? judged : { ...judged, reasons: [...judged.reasons, outlier] };
    this.lastJudgement = judgement;
    // With checklists required, a passing window that would end a checklist stage holds it while its checklist fails.
    const blocked = judgement.verdict === "pass" ? await this.checklistBlocks(a.calls, b.calls) : null;
    const verdict = blocked === null ? judgement.verdict : "insufficient_data";
    const reason = blocked === null ? judgement.reasons.join("; ") : `held: the ${this.status().shareBp / 100}% checklist does not pass (${blocked})`;
    try {
      await this.send(
        { type: "window.judged", now: at, verdict, critical: judgement.critical, v1Calls: a.calls, v2Calls: b.calls, reason },
        "judged",
        reason || judgement.verdict,
        { judgement, thresholds: this.settings.thresholds, v1: forRecord(a), v2: forRecord(b), shadow, ...(reading.fleet === undefined ? {} : { fleet: reading.fleet }) },
        // Once the machine has counted this window's calls, the next window starts after them.
        () => reading.accept(),
      );
    } finally {
      // A rollback the machine has entered runs even when its decision could not be recorded.
      if (this.state() === "rollingBack") await this.finishRollback(this.actor.getSnapshot().context.rollbackReason ?? judgement.verdict, false);
    }
    return judgement;
  }

  pause(reason = "operator", meta: OperatorMeta = {}): Promise<RolloutStatus> {
    return this.command("pause", ["active"], ["paused"], { type: "operator.paused", now: this.now(), reason }, meta);
  }

  resume(meta: OperatorMeta = {}): Promise<RolloutStatus> {
    return this.command("resume", ["paused"], ["active"], { type: "operator.resumed", now: this.now() }, meta);
  }

  async promote(meta: OperatorMeta = {}): Promise<RolloutStatus> {
    await this.checklistAllows("promote");
    return await this.command("promote", ["active", "paused"], ["promoted"], { type: "operator.promoted", now: this.now() }, meta);
  }

  async promoteStage(meta: OperatorMeta = {}): Promise<RolloutStatus> {
    await this.checklistAllows("promote_stage");
    return await this.command("promote_stage", ["active", "paused"], ["promoted"], { type: "operator.advanced", now: this.now() }, meta);
  }

  /** With checklists required, refuse to leave a stage whose checklist fails. */
  private async checklistAllows(command: string): Promise<void> {
    const state = this.state();
    if (!this.settings.requireChecklist || (state !== "active" && state !== "paused")) return;
    const failing = await this.failingChecklist(this.status().shareBp);
    if (failing !== null) {
      throw new RolloutError({ rolloutId: this.rolloutId, command, state: `${rolloutDetail(this.actor.getSnapshot())} with its checklist failing (${failing})`, allowed: "a stage whose checklist passes" });
    }
  }

  /** The items of the checklist at `shareBp` that fail or lack evidence, or null when it passes or the share has none. */
  private async failingChecklist(shareBp: number): Promise<string | null> {
    if (!CHECKLIST_STAGES.includes(shareBp)) return null;
    const list = await stageChecklist(this.o.store, this.rolloutId, shareBp, { v2Pool: this.o.v2.name });
    if (list.passed) return null;
    return list.items.filter((i) => i.status === "fail" || i.status === "insufficient")
      .map((i) => `${i.item}: ${i.status === "insufficient" ? "insufficient evidence, " : ""}${i.evidence}`).join("; ");
  }

  /** Why the current stage may not end with this window, if checklists are required and it would end. */
  private async checklistBlocks(v1Calls: number, v2Calls: number): Promise<string | null> {
    if (!this.settings.requireChecklist || this.state() !== "active") return null;
    const s = this.status();
    const stage = this.actor.getSnapshot().context.plan.stages[(s.stage ?? 0) - 1];
    if (s.stage === null || stage === undefined) return null;
    const due = s.elapsedMs >= stage.minDurationMs && s.samples.v1 + v1Calls >= stage.minSamples && s.samples.v2 + v2Calls >= stage.minSamples;
    return due ? await this.failingChecklist(s.shareBp) : null;
  }

  rollback(reason = "operator rollback", meta: OperatorMeta = {}): Promise<RollbackReport | null> {
    return this.requestRollback(reason, "rollback", meta);
  }

  abort(reason = "operator abort", meta: OperatorMeta = {}): Promise<RollbackReport | null> {
    return this.requestRollback(reason, "abort", meta);
  }

  emergencyRollback(reason = "emergency rollback", meta: OperatorMeta = {}): Promise<RollbackReport | null> {
    // Before any await: from here on, no router reading these flags picks V2.
    const state = this.state();
    if (state === "active" || state === "paused" || state === "promoted") this.rollbacks.flip();
    return this.requestRollback(reason, "emergency_rollback", meta);
  }

  status(): RolloutStatus {
    const s = this.actor.getSnapshot();
    const c = s.context;
    return {
      rolloutId: this.rolloutId,
      state: rolloutState(s),
      detail: rolloutDetail(s),
      stage: c.stage >= 0 && c.stage < c.plan.stages.length ? c.stage + 1 : null,
      stages: c.plan.stages.length,
      shareBp: shareOf(s),
      // While held, the stage clock stands where the last good tick left it.
      elapsedMs: c.clockAt === null ? c.elapsedMs : c.elapsedMs + Math.max(0, (this.failures?.heldSince != null ? this.lastOkAt : this.now()) - c.clockAt),
      samples: c.samples,
      pauseReason: c.pauseReason,
      rollbackReason: c.rollbackReason,
      cooldownUntil: c.cooldownUntil,
      lastJudgement: this.lastJudgement,
      tickFailures: this.failures,
    };
  }

  run(everyMs: number): void {
    required("rollout", "run.everyMs", everyMs, positiveDuration);
    if (this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => {
      if (this.ticking !== null) return;
      // tick() has reported its failure (event, decision, status) before rejecting.
      this.ticking = this.tick().catch(() => {}).finally(() => (this.ticking = null));
    }, everyMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.rollingBack;
    this.announcer.close();
    await this.actor.stop();
  }

  private state(): RolloutState {
    return rolloutState(this.actor.getSnapshot());
  }

  private async command(name: string, from: readonly RolloutState[], done: readonly RolloutState[], event: RolloutEvent, meta: OperatorMeta): Promise<RolloutStatus> {
    const state = this.state();
    if (done.includes(state)) return this.status();
    if (!from.includes(state)) {
      throw new RolloutError({ rolloutId: this.rolloutId, command: name, state: rolloutDetail(this.actor.getSnapshot()), allowed: from.join(", ") });
    }
    await this.send(event, `operator.${name}`, "reason" in event ? String(event.reason) : `operator ${name}`, byOf(meta));
    return this.status();
  }

  /** A rollback an operator asked for, recorded under the verb they used. */
  private async requestRollback(reason: string, verb: "rollback" | "abort" | "emergency_rollback", meta: OperatorMeta): Promise<RollbackReport | null> {
    const state = this.state();
    if (state === "rollingBack" || state === "rolledBack") return await (this.rollingBack ?? Promise.resolve(null));
    if (state === "idle") {
      throw new RolloutError({ rolloutId: this.rolloutId, command: verb, state, allowed: "active, paused, promoted" });
    }
    await this.send({ type: "rollback.requested", now: this.now(), reason }, `operator.${verb}`, reason, byOf(meta));
    return await this.finishRollback(reason, verb === "emergency_rollback");
  }

  private finishRollback(reason: string, emergency: boolean): Promise<RollbackReport | null> {
    this.rollingBack ??= (async () => {
      const report = await this.rollbacks.run(reason, emergency, this.now);
      await this.send({ type: "rollback.completed", now: this.now() }, "rolled_back", reason, { report });
      return report;
    })().finally(() => (this.rollingBack = null));
    return this.rollingBack;
  }

  /**
   * Journal an event, record the decision it led to, and make the flags say
   * what the new state stands for — the flags even when the decision cannot
   * be recorded, since the journaled state is the truth.
   */
  private async send(event: RolloutEvent, kind: string, reason: string, inputs: Record<string, unknown> = {}, applied: () => void = () => {}): Promise<void> {
    const before = this.actor.getSnapshot();
    const after = await this.actor.send(event);
    applied();
    const moved = rolloutDetail(before) !== rolloutDetail(after) || before.context.stage !== after.context.stage;
    const label = kind === "judged" && moved ? this.movement(before, after) : kind;
    try {
      await this.record(label, event.now, reason, inputs, before);
    } finally {
      await this.reconcile(reason);
    }
  }

  /** Record a decision; without `before`, one that left the state where it is. */
  private record(kind: string, at: number, reason: string, inputs: Record<string, unknown>, before: Snapshot = this.actor.getSnapshot()): Promise<void> {
    const after = this.actor.getSnapshot();
    const decision = {
      rolloutId: this.rolloutId,
      at,
      kind,
      stateFrom: rolloutDetail(before),
      stateTo: rolloutDetail(after),
      shareFrom: shareOf(before),
      shareTo: shareOf(after),
      reason,
      inputs: JSON.parse(JSON.stringify({
        ...inputs,
        stage: after.context.stage + 1,
        elapsedMs: after.context.elapsedMs,
        samples: after.context.samples,
        // Which node decided, under which term: a fleet's decisions say who led.
        ...(this.fence === undefined ? {} : { leader: { nodeId: this.fence.nodeId, term: this.fence.term } }),
      })),
    };
    // The event is made from the decision itself, so the two cannot disagree; it is told even when the store
    // refused the write (a tick that failed for want of a store must still be heard), unless another node leads now.
    const told = (recorded: boolean): void => this.announcer.decided(decision, after.context, recorded);
    return this.o.store.decisions.record(decision).then(() => told(true), (e: unknown) => {
      if (!(e instanceof FencedError)) told(false);
      throw e;
    });
  }

  private movement(before: Snapshot, after: Snapshot): string {
    const state = rolloutState(after);
    if (state === "rollingBack") return "rolling_back";
    if (state === "paused") return "paused";
    if (state === "promoted") return "promoted";
    return after.context.stage > before.context.stage ? "advanced" : "judged";
  }

  private async reconcile(reason: string): Promise<void> {
    const s = this.actor.getSnapshot();
    const state = rolloutState(s);
    const flags = this.o.flags;
    const enabled = state === "active" || state === "paused" || state === "promoted";
    const share = shareOf(s);
    const meta = { by: `rollout ${this.rolloutId}`, reason };
    if (enabled && !flags.get("pool_v2_enabled")) await flags.set("pool_v2_enabled", true, { ...meta, fence: this.fence });
    // Paused, the rollout no longer steers the share: an operator may have set it by hand (molt flags set --force).
    if (flags.explain("pool_v2_share").stored !== share && state !== "rollingBack" && state !== "paused") await flags.set("pool_v2_share", share, { ...meta, fence: this.fence });
  }
}

/** A decision's inputs naming who asked, when someone was named. */
function byOf(meta: OperatorMeta): Record<string, unknown> {
  return meta.by === undefined ? {} : { by: meta.by };
}
