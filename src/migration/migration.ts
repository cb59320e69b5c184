/**
 * createMigration: the whole move from V1 to V2 — preflight, a backup, V2
 * started in shadow, verification, the staged rollout, and decommissioning
 * V1 — as a persisted machine whose every phase is recorded in
 * `migration_status`. Any failure rolls back and says why.
 *
 * @module
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import {
  MIGRATION_MACHINE_VERSION,
  migrationMachine,
  type MigrationEvent,
  type MigrationPhaseName,
  type MigrationState,
  migrationState,
} from "../../machines/migration.ts";
import {
  clockRule,
  idRule,
  nonEmptyString,
  nonNegativeDuration,
  nonNegativeInt,
  option,
  positiveDuration,
  refuseUnknown,
  required,
  type Rule,
} from "../config.ts";
import { ConfigError, MigrationError } from "../errors.ts";
import { FLAG_NAMES } from "../flags/definitions.ts";
import { type Flags, flagsRule } from "../flags/flags.ts";
import type { BackupDocument } from "../store/tables/backups.ts";
import { type PoolOptions, resolvePoolOptions } from "../pool/options.ts";
import { createPool } from "../pool/pool.ts";
import { type Pool, poolRule } from "../pool/types.ts";
import { createRolloutController, type OperatorMeta, resolveRolloutSettings, ROLLOUT_SETTINGS, type RolloutController, type RolloutOptions } from "../rollout/controller.ts";
import { RolloutEventStream } from "../rollout/rollout-events.ts";
import { createRouter, resolveRouterSettings, ROUTER_SETTINGS, type Router, type RouterOptions } from "../routing/router.ts";
import { type PersistedActor, persistActor } from "../store/persist-actor.ts";
import { type Store, storeRule } from "../store/store.ts";
import { WindowRecorder, wholeSlicesWindow } from "../fleet/window-recorder.ts";
import { ARCHIVE_FILES, type ArchiveFileName, type ArtifactFile, type CleanupItem, writeArchiveFile, type WrittenArchive, writeManifest } from "./archive.ts";
import { decommissionChecks } from "./decommission-checks.ts";
import { type Check, preflight } from "./preflight.ts";
import { MOLT_VERSION } from "../version.ts";
import { isRunning } from "../process/proc-stat.ts";
import { resolveVerifyOptions, verify, type VerifyOptions } from "./verify.ts";

/** Options of createMigration. */
export interface MigrationOptions {
  /** The migration's id (its actor is `migration:<id>`, its rollout `<id>`). Default "migration". */
  readonly migrationId?: string;
  /** The serving V1 pool. Required. */
  readonly v1: Pool;
  /** How to start V2 (the migration starts it in shadow). Required. */
  readonly v2: PoolOptions;
  readonly flags: Flags;
  readonly store: Store;
  /** Router settings (shadow comparison, fallback). Default: the router's defaults. */
  readonly router?: Omit<RouterOptions, "v1" | "v2" | "flags" | "store">;
  /** Rollout settings (plan, thresholds, rollback). Default: the rollout's defaults. */
  readonly rollout?: Omit<RolloutOptions, "v1" | "v2" | "flags" | "store" | "router" | "rolloutId" | "now">;
  /** Free bytes each disk molt writes to (the work directory's, a SQLite store's) must have. Default 100 MB. */
  readonly minFreeBytes?: number;
  /** Verification's latency probe: the call, and how much slower than V1 V2 may be. Default: `ping`, 20 calls, V1 × 2 + 5 ms. */
  readonly verify?: VerifyOptions;
  /** How long V2 must hold 100% (with no V1 call) before V1 may be decommissioned. Default 1 hour. */
  readonly decommissionAfterMs?: number;
  /** How long each window of calls both arms served, written to `pool_metrics` for the report, lasts (rounded up to whole slices of both pools). Default 10000. */
  readonly recordWindowMs?: number;
  /** Where the migration keeps its backup file and temporary files. Default `.molt/migrations/<id>` beside a SQLite store, else the system's temporary directory. */
  readonly workDir?: string;
  /** The clock (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
}

/** Where a migration stands. */
export interface MigrationProgress {
  readonly migrationId: string;
  readonly state: MigrationState;
  readonly failedPhase: MigrationPhaseName | null;
  readonly reason: string | null;
  /** The rollout's status once it exists. */
  readonly rollout: ReturnType<RolloutController["status"]> | null;
}

/** What decommissioning would do now. */
export interface DecommissionPlan {
  readonly migrationId: string;
  readonly state: MigrationState;
  /** Every check passed: `decommission()` would go ahead now. */
  readonly ready: boolean;
  readonly checks: readonly Check[];
  /** Where V1's archive is written (`<workDir>/v1-archive`), and its files. */
  readonly archiveDir: string;
  readonly archiveFiles: readonly string[];
  /** The processes, temporary files, flags and configurations it takes away. */
  readonly cleanup: readonly CleanupItem[];
}

/** A migration. */
export interface Migration {
  readonly migrationId: string;
  /** V2, the router and the rollout, once deployed. */
  readonly v2: Pool | null;
  readonly router: Router | null;
  readonly rollout: RolloutController | null;
  /** Run the phases up to the first rollout stage (or resume where a restart left off). Rejects with MigrationError after rolling back a failed phase. */
  run(): Promise<MigrationProgress>;
  /** Judge the rollout once and follow it: promotion ends the rollout phase, a rollback rolls the migration back. */
  tick(): Promise<MigrationProgress>;
  /**
   * Decommission V1 once V2 has held 100% for `decommissionAfterMs` with no
   * V1 call (a V1 call restarts that window), every V2 worker answers its
   * health check, V2's breaker is closed and the last judgement passed:
   * back up the store, stop V1, retire the rollout's flags, and archive V1
   * (see {@link DecommissionPlan}).
   */
  decommission(): Promise<MigrationProgress>;
  /** What `decommission()` would check, archive and clean up now, doing none of it (`molt decommission --dry-run`). */
  decommissionPlan(): Promise<DecommissionPlan>;
  /** Pause the rollout (its time stops counting). */
  pause(reason?: string, meta?: OperatorMeta): Promise<MigrationProgress>;
  resume(meta?: OperatorMeta): Promise<MigrationProgress>;
  /** Skip the remaining stages: V2 takes 100%. */
  promote(meta?: OperatorMeta): Promise<MigrationProgress>;
  /** One stage on now (from shadow: the first stage; from the last: 100%). */
  promoteStage(meta?: OperatorMeta): Promise<MigrationProgress>;
  /** Roll back and stop the migration, recorded as an operator's abort. */
  abort(reason?: string, meta?: OperatorMeta): Promise<MigrationProgress>;
  /** Roll back and stop the migration, recorded as an operator's rollback. */
  rollback(reason?: string, meta?: OperatorMeta): Promise<MigrationProgress>;
  /** Roll back now: V2's share is 0 in memory before this returns its promise. */
  emergencyRollback(reason?: string, meta?: OperatorMeta): Promise<MigrationProgress>;
  /**
   * Apply operator commands queued in the store (by the \`molt\` CLI) every
   * \`pollMs\` (default 250), writing each result back, until \`stop()\`.
   */
  serve(options?: { pollMs?: number }): void;
  status(): MigrationProgress;
  /** Stop the rollout loop and write the final snapshots. Pools stay up (V2's is this migration's to stop with `stopV2`). */
  stop(options?: { stopV2?: boolean }): Promise<void>;
}

/** How often a migration serving commands beats (docs/fleet.md: `molt status` shows whether anything serves it). */
const BEAT_MS = 1000;

/**
 * Create (or restore) a migration.
 *
 * @example
 * ```ts
 * import { createFlags, createMigration, createPool, openStore } from "molt";
 * const store = await openStore(":memory:");
 * const flags = await createFlags({ store, env: {} });
 * const handler = "./test/fixtures/echo_handler.py";
 * const v1 = await createPool({ name: "v1", strategy: "basic", handler, size: 1, heartbeatMs: 0 });
 * const migration = await createMigration({ v1, v2: { name: "v2", handler, size: 1, heartbeatMs: 0 }, flags, store, rollout: { plan: { shadowMs: 0 } } });
 * const status = await migration.run();
 * console.log(status.state, status.rollout?.stage, flags.share()); // rollout 1 500
 * await migration.stop({ stopV2: true });
 * await v1.stop();
 * await flags.close();
 * await store.close();
 * ```
 */
export async function createMigration(options: MigrationOptions): Promise<Migration> {
  const settings = resolveMigrationOptions(options);
  const { migrationId, now } = settings;
  const actor = await persistActor(migrationMachine, {
    actorId: `migration:${migrationId}`,
    machineVersion: MIGRATION_MACHINE_VERSION,
    store: options.store,
    input: { migrationId },
    now,
  });
  const sqlitePath = options.store.backend === "sqlite" && !options.store.location.endsWith(":memory:") ? options.store.location.replace(/^sqlite:/, "") : null;
  const workDir = settings.workDir ?? (sqlitePath === null ? join(tmpdir(), "molt", migrationId) : join(dirname(resolve(sqlitePath)), "migrations", migrationId));
  return new MigrationImpl(options, settings, actor, workDir);
}

/** A migration's options after defaults, each checked. */
interface MigrationSettings {
  readonly migrationId: string;
  readonly now: () => number;
  readonly verify: Required<VerifyOptions>;
  readonly minFreeBytes: number;
  readonly decommissionAfterMs: number;
  readonly recordWindowMs: number;
  readonly workDir: string | undefined;
}

/**
 * Check every option the way the part that uses it will — V2's options as
 * createPool does, the router's and the rollout's as they do — so that a bad
 * one fails here, before anything is recorded or started.
 */
function resolveMigrationOptions(options: MigrationOptions): MigrationSettings {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError({ owner: "migration", option: "options", received: options, allowed: "an object with at least { v1, v2, flags, store }" });
  }
  refuseUnknown("migration", options, ["migrationId", "v1", "v2", "flags", "store", "router", "rollout", "minFreeBytes", "decommissionAfterMs", "recordWindowMs", "workDir", "verify", "now"]);
  required("migration", "store", options.store, storeRule);
  required("migration", "flags", options.flags, flagsRule);
  const v1 = required("migration", "v1", options.v1, poolRule);
  const v2 = resolvePoolOptions(options.v2);
  if (v2.name === v1.name) throw new ConfigError({ owner: "migration", option: "v2.name", received: v2.name, allowed: `a name other than v1's (${JSON.stringify(v1.name)})` });
  const router = option("migration", "router", options.router, settingsObject, {});
  // Its rollout is the migration itself: the router records shadow mismatches under migrationId.
  refuseUnknown("migration: router", router, ROUTER_SETTINGS.filter((key) => key !== "rolloutId"));
  const { shadow } = resolveRouterSettings(router, "migration", "router.");
  const rollout = option("migration", "rollout", options.rollout, settingsObject, {});
  refuseUnknown("migration: rollout", rollout, ROLLOUT_SETTINGS);
  const { plan } = resolveRolloutSettings(rollout, "migration", "rollout.");
  const settings: MigrationSettings = {
    migrationId: option("migration", "migrationId", options.migrationId, idRule, "migration"),
    now: option("migration", "now", options.now, clockRule, Date.now),
    verify: resolveVerifyOptions(options.verify),
    minFreeBytes: option("migration", "minFreeBytes", options.minFreeBytes, nonNegativeInt, 100e6),
    decommissionAfterMs: option("migration", "decommissionAfterMs", options.decommissionAfterMs, nonNegativeDuration, 3_600_000),
    recordWindowMs: option("migration", "recordWindowMs", options.recordWindowMs, positiveDuration, 10_000),
    workDir: option("migration", "workDir", options.workDir, nonEmptyString, undefined),
  };
  // In shadow, V2 is judged on shadow calls alone: with none, the rollout would wait there for evidence that never comes.
  if (plan.shadowMs > 0 && (shadow === null || shadow.sampleRate === 0)) {
    throw new ConfigError({
      owner: "migration", option: "rollout.plan.shadowMs", received: plan.shadowMs,
      allowed: `0 when router.shadow ${shadow === null ? "is not set" : "samples nothing (sampleRate 0)"}: the shadow phase judges V2 on shadow calls only, and would wait forever; set router.shadow (e.g. { sampleRate: 0.05 }) or rollout.plan.shadowMs: 0`,
    });
  }
  return settings;
}

const settingsObject: Rule<Record<string, unknown>> = {
  is: (v): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v),
  allowed: "an object",
};

class MigrationImpl implements Migration {
  v2: Pool | null = null;
  router: Router | null = null;
  rollout: RolloutController | null = null;
  private promotedAt: number | null = null;
  private v1CallsAtPromotion = 0;

  readonly migrationId: string;
  private readonly now: () => number;
  /** The rollout's event stream (the caller's, or one of the migration's own), which decommissioning is told on too. */
  private readonly events: RolloutEventStream;

  constructor(
    private readonly o: MigrationOptions,
    private readonly settings: MigrationSettings,
    private readonly actor: PersistedActor<typeof migrationMachine>,
    private readonly workDir: string,
  ) {
    this.migrationId = settings.migrationId;
    this.now = settings.now;
    this.events = o.rollout?.events ?? new RolloutEventStream();
  }

  status(): MigrationProgress {
    const c = this.actor.getSnapshot().context;
    return { migrationId: this.migrationId, state: this.state(), failedPhase: c.failedPhase, reason: c.reason, rollout: this.rollout?.status() ?? null };
  }

  async run(): Promise<MigrationProgress> {
    const state = this.state();
    if (state === "idle") await this.send({ type: "migration.started", now: this.now() });
    else if (state === "rolledBack") await this.send({ type: "migration.retried", now: this.now() });
    else if (state === "complete" || state === "rollingBack") return this.status();
    const phases: MigrationPhaseName[] = ["preflight", "backup", "deployShadow", "verify", "rollout"];
    // A restart resumes at the phase the machine is in; V2 must run again from deployShadow on.
    if (["verify", "rollout", "decommission"].includes(this.state()) && this.v2 === null) await this.deploy();
    for (const phase of phases) {
      if (this.state() !== phase) continue;
      await this.phase(phase, () => this.execute(phase));
    }
    return this.status();
  }

  async tick(): Promise<MigrationProgress> {
    if (this.rollout === null || this.v1Retired() || this.state() !== "rollout" && this.state() !== "decommission") return this.status();
    await this.rollout.tick();
    await this.follow();
    if (this.state() === "decommission") this.watchV1();
    return this.status();
  }

  /** A V1 call (a straggler, a fallback) restarts the hold: V1 goes only after a whole quiet window. */
  private watchV1(): void {
    const calls = this.o.v1.stats().calls;
    if (calls !== this.v1CallsAtPromotion) {
      this.v1CallsAtPromotion = calls;
      this.promotedAt = this.now();
    }
  }

  decommission(): Promise<MigrationProgress> {
    // One at a time: a call from the API and one from the CLI's queue must not both archive and stop V1.
    this.decommissioning ??= this.decommissionOnce().finally(() => (this.decommissioning = null));
    return this.decommissioning;
  }

  private decommissioning: Promise<MigrationProgress> | null = null;
  /** Set as V1 starts stopping: from then on nothing may send a call back to it. */
  private v1Gone = false;

  /** V1 is stopping or gone: no rollback, no tick, no share below 100%. */
  private v1Retired(): boolean {
    return this.v1Gone || this.state() === "complete";
  }

  private async decommissionOnce(): Promise<MigrationProgress> {
    if (this.state() === "complete") return this.status();
    const plan = await this.decommissionPlan();
    if (!plan.ready) throw this.refuse("decommission", plan.checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`).join("; "));
    const prepared = await this.prepareArchive(plan);
    const before = this.rollout?.status();
    await this.phase("decommission", () => this.stopV1(plan, prepared));
    // The rollout's last event, on its stream: told once the phase is recorded complete.
    this.events.emit({
      event: "migration.decommissioned", rolloutId: this.migrationId, at: this.now(), state: this.state(), stage: null, stages: before?.stages ?? 0,
      shareBp: this.o.flags.share(), previousShareBp: before?.shareBp ?? this.o.flags.share(), elapsedMs: 0,
      reason: `V1 (${this.o.v1.name}) stopped and archived; V2 (${this.o.v2.name}) serves everything`, trigger: "operator", by: null, verdict: null,
      detail: { command: "decommission", v1: this.o.v1.name, v2: this.o.v2.name, archiveDir: plan.archiveDir }, recorded: true,
    });
    return this.status();
  }

  async decommissionPlan(): Promise<DecommissionPlan> {
    const state = this.state();
    const archiveDir = join(this.workDir, "v1-archive");
    const base = { migrationId: this.migrationId, state, archiveDir, archiveFiles: [...ARCHIVE_FILES, "manifest.json"] };
    if (state === "complete") return { ...base, ready: false, checks: [{ check: "v1_present", status: "fail", ok: false, detail: "V1 was decommissioned already" }], cleanup: [] };
    const checks: Check[] = [];
    const check = (name: string, ok: boolean, detail: string): void => void checks.push({ check: name, status: ok ? "pass" : "fail", ok, detail });
    check("v2_promoted", state === "decommission", state === "decommission" ? "V2 serves 100%" : `V2 has not been promoted to 100% (the migration is in ${state})`);
    if (state === "decommission") {
      this.watchV1();
      const held = this.promotedAt === null ? 0 : this.now() - this.promotedAt;
      const need = this.settings.decommissionAfterMs;
      check("v2_held_alone", held >= need, `V2 has held 100% with no V1 call for ${held} ms of the ${need} ms required`);
      checks.push(...decommissionChecks(await this.v2!.health(), this.rollout?.status().lastJudgement ?? null));
    }
    return { ...base, ready: checks.every((c) => c.ok), checks, cleanup: await this.cleanup(false) };
  }

  /**
   * While V1 still serves: back up the store and write the parts of V1's
   * archive that prove the disk takes it. A failure here leaves V1 serving
   * and refuses.
   */
  private async prepareArchive(plan: DecommissionPlan): Promise<{ backup: { id: string; file: string | null }; files: ArtifactFile[] }> {
    const { store, v1 } = this.o;
    try {
      const backup = await store.backups.write(await this.collectBackup(), { reason: `decommission of ${v1.name} (migration ${this.migrationId})`, file: join(this.workDir, "backup-before-decommission.json") });
      const files = [
        await writeArchiveFile(plan.archiveDir, "configuration.json", { resolved: v1.configuration(), stored: await store.poolConfigurations.list(v1.name) }),
        await writeArchiveFile(plan.archiveDir, "decisions.json", await store.decisions.list(this.migrationId)),
      ];
      return { backup: { id: backup.id, file: backup.file }, files };
    } catch (e) {
      throw this.refuse("decommission", `V1's archive could not be written, so V1 stays: ${String((e as Error).message ?? e)}`);
    }
  }

  /**
   * Stop V1, then retire what served the migration and finish the archive.
   * Nothing after V1 has stopped may roll the migration back (there is no V1
   * to go back to): a step that fails is recorded in `problems` and the rest
   * go on.
   */
  private async stopV1(plan: DecommissionPlan, prepared: { backup: { id: string; file: string | null }; files: ArtifactFile[] }): Promise<Record<string, unknown>> {
    const { store, v1, flags } = this.o;
    this.v1Gone = true;
    const problems: string[] = [];
    const attempt = async (step: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        problems.push(`${step}: ${String((e as Error).message ?? e)}`);
      }
    };
    await attempt("stop V1", () => v1.stop());
    // The record of calls ends with V1: its last window written, so that the archive holds every one of V1's calls.
    await attempt("record of calls", async () => {
      await this.stopRecording(true);
      const unwritten = this.leftover.reduce((n, r) => n + r.waiting, 0) / 2;
      if (unwritten > 0) throw new Error(`${unwritten} window(s) of calls could not be written to the store: metrics.json misses them`);
    });
    let cleanup: CleanupItem[] = [];
    await attempt("clean-up list", async () => void (cleanup = await this.cleanup(true)));
    await attempt("configurations", async () => {
      await store.poolConfigurations.deactivate(v1.name);
      const v2 = await store.poolConfigurations.list(this.o.v2.name);
      if (v2.length > 0) await store.poolConfigurations.activate(this.o.v2.name, v2.at(-1)!.version);
    });
    // Kept where they route everything to V2, and the change recorded: V1 is gone, and a lower share would send calls nowhere.
    const retired = { by: `migration ${this.migrationId}`, reason: `retired at the decommission of ${v1.name}: V2 serves everything` };
    await attempt("flags", async () => {
      await flags.set("pool_v2_enabled", true, retired);
      await flags.set("pool_v2_share", 10_000, retired);
    });
    await attempt("temporary files", async () => rmSync(join(this.workDir, "tmp"), { recursive: true, force: true }));
    const files = [...prepared.files];
    const write = (name: ArchiveFileName, data: () => Promise<unknown> | unknown): Promise<void> =>
      attempt(`archive ${name}`, async () => void files.push(await writeArchiveFile(plan.archiveDir, name, await data())));
    await write("metrics.json", () => store.poolMetrics.range(v1.name));
    await write("flags.json", async () => ({ values: flags.values(), stored: await store.flags.list(), history: await flags.history() }));
    await write("stderr.json", () => v1.stderr());
    await write("cleanup.json", () => cleanup);
    let manifest: ArtifactFile | null = null;
    await attempt("archive manifest.json", async () => void (manifest = (await writeManifest(plan.archiveDir, files)).manifest));
    const archive: WrittenArchive = { dir: plan.archiveDir, files, manifest };
    return { checks: plan.checks, backup: prepared.backup.id, backupFile: prepared.backup.file, archive, cleanup, problems };
  }

  /** The store's state, with every flag as this process sees it (its value and where it comes from). */
  private collectBackup(): Promise<BackupDocument> {
    const flags = this.o.flags;
    return this.o.store.backups.collect({ effectiveFlags: FLAG_NAMES.map((n) => ({ flag: n, value: flags.explain(n).value, source: flags.explain(n).source })) });
  }

  /** What decommissioning takes away: V1's processes, the temporary files, the flags it retires, the configurations it swaps. `done`: after the fact. */
  private async cleanup(done: boolean): Promise<CleanupItem[]> {
    const v1 = this.o.v1.name;
    const items: CleanupItem[] = [];
    const workers = done ? this.o.v1.stderr().map((w) => ({ ...w, alive: isRunning(w.pid) })) : this.o.v1.metrics().workers.map((w) => ({ workerId: w.id, pid: w.pid, exitCode: null, signal: null, alive: true }));
    for (const w of workers) {
      items.push({ kind: "process", what: `${w.workerId} (pid ${w.pid})`, detail: !done ? "to be stopped (drained first)" : w.alive ? "still running after V1 stopped" : `stopped (exit code ${w.exitCode}${w.signal === null ? "" : `, signal ${w.signal}`})` });
    }
    for (const file of listFiles(join(this.workDir, "tmp"))) items.push({ kind: "temp_file", what: file, detail: done ? "removed" : "to be removed" });
    for (const flag of ["pool_v2_enabled", "pool_v2_share"]) items.push({ kind: "flag", what: flag, detail: `${done ? "retired" : "to be retired"}: kept at ${flag === "pool_v2_share" ? "100%" : "true"}, the change recorded` });
    items.push({ kind: "configuration", what: v1, detail: done ? "marked inactive" : "to be marked inactive" });
    return items;
  }

  pause(reason = "operator", meta: OperatorMeta = {}): Promise<MigrationProgress> {
    return this.viaRollout("pause", (r) => r.pause(reason, meta));
  }

  resume(meta: OperatorMeta = {}): Promise<MigrationProgress> {
    return this.viaRollout("resume", (r) => r.resume(meta));
  }

  promote(meta: OperatorMeta = {}): Promise<MigrationProgress> {
    return this.viaRollout("promote", (r) => r.promote(meta));
  }

  promoteStage(meta: OperatorMeta = {}): Promise<MigrationProgress> {
    return this.viaRollout("promote_stage", (r) => r.promoteStage(meta));
  }

  abort(reason = "operator abort", meta: OperatorMeta = {}): Promise<MigrationProgress> {
    if (this.state() === "rolledBack") return Promise.resolve(this.status());
    return this.viaRollout("abort", (r) => r.abort(reason, meta));
  }

  rollback(reason = "operator rollback", meta: OperatorMeta = {}): Promise<MigrationProgress> {
    if (this.state() === "rolledBack") return Promise.resolve(this.status());
    return this.viaRollout("rollback", (r) => r.rollback(reason, meta));
  }

  emergencyRollback(reason = "emergency rollback", meta: OperatorMeta = {}): Promise<MigrationProgress> {
    // Already back on V1 (its share 0 written again by the caller, as an emergency does): nothing left to do, and nothing wrong.
    if (this.state() === "rolledBack") return Promise.resolve(this.status());
    const refused = this.refusal("emergency rollback");
    if (refused !== null) return Promise.reject(refused);
    // Flipped before any await, inside the rollout controller.
    const done = this.rollout!.emergencyRollback(reason, meta);
    return this.viaRollout("emergency rollback", () => done);
  }

  serve(options: { pollMs?: number } = {}): void {
    const pollMs = option("migration", "serve.pollMs", options.pollMs, positiveDuration, 250);
    if (this.serving !== null) return;
    let busy = false;
    this.serving = setInterval(() => {
      if (busy) return;
      busy = true;
      this.applyCommands().finally(() => (busy = false));
    }, pollMs);
    // Its own timer, so a long command (a rollback draining V2) does not make the process look gone.
    let beating = false;
    this.beating = setInterval(() => {
      if (beating) return;
      beating = true;
      this.beat().finally(() => (beating = false));
    }, BEAT_MS);
    void this.beat();
  }

  private beating: ReturnType<typeof setInterval> | null = null;

  private serving: ReturnType<typeof setInterval> | null = null;
  private applying: Promise<void> = Promise.resolve();
  private readonly who = { host: hostname(), pid: process.pid };
  private readonly nodeId = `${hostname()}-${process.pid}`;
  private recorder: WindowRecorder | null = null;
  private joined = false;

  /** Register this process as the node serving the migration (it leads alone: no lease), and beat. */
  private async beat(): Promise<void> {
    const nodes = this.o.store.nodes;
    const beat = { role: "leader" as const, shareBp: this.o.flags.share(), state: { migration: this.state() } };
    try {
      if (this.joined && (await nodes.beat(this.nodeId, this.who, beat))) return;
      // Stopped meanwhile: it has left, and must not join again.
      if (this.beating === null) return;
      await nodes.join({ nodeId: this.nodeId, target: this.migrationId, ...this.who, version: MOLT_VERSION, role: "leader", arms: [this.o.v1.name, this.o.v2.name], heartbeatMs: BEAT_MS });
      this.joined = true;
    } catch {
      // The next beat tries again; commands are applied meanwhile.
    }
  }

  private applyCommands(): Promise<void> {
    this.applying = (async () => {
      const store = this.o.store;
      // Claimed one at a time, so that a second process serving the same migration by mistake cannot apply a command twice.
      for (let c = await store.commands.claim(this.migrationId, this.nodeId, 0).catch(() => undefined); c !== undefined; c = await store.commands.claim(this.migrationId, this.nodeId, 0).catch(() => undefined)) {
        const reason = typeof c.args.reason === "string" ? c.args.reason : undefined;
        try {
          // A dry run is a command of its own: a process of an older molt refuses it instead of decommissioning for real.
          const progress = c.command === "decommission_plan" ? await this.decommissionPlan() : await this.apply(c.command, reason, c.requestedBy === null ? {} : { by: c.requestedBy });
          await store.commands.complete(c.id, "applied", JSON.parse(JSON.stringify(progress)));
        } catch (e) {
          await store.commands.complete(c.id, "failed", { error: String((e as Error).message ?? e), tag: (e as { _tag?: string })._tag ?? null });
        }
      }
    })();
    return this.applying;
  }

  private apply(command: string, reason: string | undefined, meta: OperatorMeta): Promise<MigrationProgress> {
    switch (command) {
      case "start":
        return this.run();
      case "pause":
        return this.pause(reason, meta);
      case "resume":
        return this.resume(meta);
      case "promote":
        return this.promote(meta);
      case "promote_stage":
        return this.promoteStage(meta);
      case "abort":
        return this.abort(reason, meta);
      case "rollback":
        return this.rollback(reason, meta);
      case "emergency_rollback":
        return this.emergencyRollback(reason, meta);
      case "decommission":
        return this.decommission();
      default:
        return Promise.reject(this.refuse(command, "not a command (start, pause, resume, promote, promote_stage, abort, rollback, emergency_rollback, decommission, decommission_plan)"));
    }
  }

  /** Why a rollout command cannot run now, or null. */
  private refusal(command: string): MigrationError | null {
    const state = this.state();
    if (this.rollout === null || (state !== "rollout" && state !== "decommission")) return this.refuse(command, "the rollout runs only in the rollout and decommission phases");
    if (this.v1Gone) return this.refuse(command, "V1 is being decommissioned: there is no V1 to roll back to or share with");
    return null;
  }

  private async viaRollout(command: string, fn: (rollout: RolloutController) => Promise<unknown>): Promise<MigrationProgress> {
    const refused = this.refusal(command);
    if (refused !== null) throw refused;
    await fn(this.rollout!);
    await this.follow();
    return this.status();
  }

  async stop(options: { stopV2?: boolean } = {}): Promise<void> {
    if (this.serving !== null) clearInterval(this.serving);
    if (this.beating !== null) clearInterval(this.beating);
    this.serving = null;
    this.beating = null;
    await this.applying;
    if (this.joined) await this.o.store.nodes.leave(this.nodeId, this.who).catch(() => {});
    await this.rollout?.stop();
    await this.stopRecording(true);
    await this.router?.close();
    if (options.stopV2) await this.v2?.stop();
    await this.actor.stop();
  }

  private state(): MigrationState {
    return migrationState(this.actor.getSnapshot());
  }

  private refuse(command: string, reason: string): MigrationError {
    return new MigrationError({ migrationId: this.migrationId, command, state: this.state(), reason });
  }

  private async send(event: MigrationEvent): Promise<void> {
    await this.actor.send(event);
  }

  /** Run one phase: record it running, then completed (or failed, and roll back). */
  private async phase(phase: MigrationPhaseName, fn: () => Promise<Record<string, unknown>>): Promise<void> {
    const startedAt = this.now();
    const record = (status: "running" | "completed" | "failed", metadata: Record<string, unknown>) =>
      this.o.store.migrationStatus.record({
        migrationId: this.migrationId, phase, status, startedAt, completedAt: status === "running" ? null : this.now(), metadata: JSON.parse(JSON.stringify(metadata)),
      });
    await record("running", {});
    let metadata: Record<string, unknown>;
    try {
      metadata = await fn();
    } catch (e) {
      const reason = String((e as Error).message ?? e);
      await record("failed", { reason, ...(e as { checks?: Check[] }).checks ? { checks: (e as { checks: Check[] }).checks } : {} });
      await this.send({ type: "phase.failed", phase, now: this.now(), reason });
      await this.rollBack();
      throw this.refuse("run", `phase ${phase} failed, rolled back: ${reason}`);
    }
    // The rollout phase stays running until the rollout is promoted.
    if (phase === "rollout") return void (await record("running", metadata));
    await record("completed", metadata);
    await this.send({ type: "phase.succeeded", phase, now: this.now() });
  }

  private async execute(phase: MigrationPhaseName): Promise<Record<string, unknown>> {
    switch (phase) {
      case "preflight": {
        mkdirSync(join(this.workDir, "tmp"), { recursive: true });
        const checks = await preflight(this.o.v1, this.o.v2, this.o.store, this.settings.minFreeBytes, this.workDir);
        writeFileSync(join(this.workDir, "tmp", "preflight.json"), JSON.stringify(checks, null, 2));
        const failed = checks.filter((c) => !c.ok);
        if (failed.length > 0) throw Object.assign(new Error(failed.map((c) => `${c.check}: ${c.detail}`).join("; ")), { checks });
        return { checks };
      }
      case "backup": {
        // V1's configuration first, so that the backup holds it.
        const configs = this.o.store.poolConfigurations;
        if ((await configs.active(this.o.v1.name)) === undefined) {
          const v1 = this.o.v1;
          const version = ((await configs.list(v1.name)).at(-1)?.version ?? 0) + 1;
          await configs.save({ name: v1.name, version, config: v1.configuration(), active: true });
        }
        const document = await this.collectBackup();
        const backup = await this.o.store.backups.write(document, { reason: `before migration ${this.migrationId}`, file: join(this.workDir, "backup-before.json") });
        return { backup: backup.id, file: backup.file };
      }
      case "deployShadow": {
        await this.deploy();
        const configs = this.o.store.poolConfigurations;
        const version = ((await configs.list(this.o.v2.name)).at(-1)?.version ?? 0) + 1;
        await configs.save({ name: this.o.v2.name, version, config: this.v2!.configuration() });
        return { v2: this.o.v2.name, ready: this.v2!.metrics().ready };
      }
      case "verify": {
        const checks = await verify(this.o.v1, this.v2!, this.settings.verify);
        if (checks.some((c) => !c.ok)) throw Object.assign(new Error(checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`).join("; ")), { checks });
        return { checks };
      }
      case "rollout": {
        const status = await this.rollout!.start();
        return { stage: status.stage, shareBp: status.shareBp };
      }
      default:
        return {};
    }
  }

  /** Start V2, the router in front of both pools, and the rollout controller (which restores itself). */
  private async deploy(): Promise<void> {
    // A retry after a rollback: a V2 kept warm is used again; a stopped one is replaced, and the
    // old controller is stopped first so that only one process writes the rollout's journal.
    if (this.v2 !== null && (this.v2.state === "serving" || this.v2.state === "degraded")) return;
    await this.rollout?.stop();
    await this.stopRecording(false);
    await this.router?.close();
    // V2 obeys the migration's kill switches unless told otherwise (a basic pool has none to obey).
    const followFlags = this.o.v2.strategy !== "basic" && this.o.v2.flags === undefined;
    this.v2 = await createPool(followFlags ? { ...this.o.v2, flags: this.o.flags } : this.o.v2);
    this.router = createRouter({ v1: this.o.v1, v2: this.v2, flags: this.o.flags, store: this.o.store, ...this.o.router, rolloutId: this.migrationId });
    this.rollout = await createRolloutController({
      v1: this.o.v1, v2: this.v2, flags: this.o.flags, store: this.o.store, router: this.router, rolloutId: this.migrationId, now: this.now, ...this.o.rollout, events: this.events,
    });
    this.startRecording();
  }

  /** Every window both arms served goes to pool_metrics, so that the report covers the whole rollout, past restarts. */
  private startRecording(): void {
    this.recorder = new WindowRecorder({
      store: this.o.store, v1: this.o.v1, v2: this.v2!, router: this.router!, target: this.migrationId, nodeId: this.nodeId,
      windowMs: wholeSlicesWindow(this.o.v1, this.v2!, this.settings.recordWindowMs), partialEnds: true,
      // A window not written yet is kept and tried again; the failure is told as the pool tells its own.
      onError: (e) => this.v2?.events.emit({ type: "store.failed", pool: this.o.v2.name, at: Date.now(), operation: "pool_metrics.record", detail: String((e as Error).message ?? e) }),
    });
    this.recorder.start();
  }

  /**
   * The windows cut so far are written; no more are cut. `last`: the
   * migration stops (else a new V2 is deployed, and its recorder writes the
   * window under way). A recorder whose windows could not all be written is
   * kept, and tried again before the next archive and at `stop`.
   */
  private async stopRecording(last: boolean): Promise<void> {
    const recorder = this.recorder;
    this.recorder = null;
    if (recorder === null) return await this.flushLeftover();
    await recorder.finish(last);
    if (recorder.waiting > 0) this.leftover.push(recorder);
    await this.flushLeftover();
  }

  /** Recorders stopped with windows not written yet. */
  private readonly leftover: WindowRecorder[] = [];

  private async flushLeftover(): Promise<void> {
    for (const r of [...this.leftover]) {
      await r.flush().catch(() => {});
      if (r.waiting === 0) this.leftover.splice(this.leftover.indexOf(r), 1);
    }
  }

  /** Follow the rollout: promotion ends the rollout phase; a rollback rolls the migration back. */
  private async follow(): Promise<void> {
    if (this.v1Retired()) return;
    const rollout = this.rollout!.status();
    if (this.state() === "rollout" && rollout.state === "promoted") {
      this.promotedAt = this.now();
      this.v1CallsAtPromotion = this.o.v1.stats().calls;
      await this.endRolloutPhase("completed", { promotedAt: this.promotedAt });
      await this.send({ type: "phase.succeeded", phase: "rollout", now: this.now() });
    } else if (rollout.state === "rolledBack" || rollout.state === "rollingBack") {
      const phase = this.state() === "decommission" ? "decommission" : "rollout";
      const reason = rollout.rollbackReason ?? "rollout rolled back";
      if (phase === "rollout") await this.endRolloutPhase("failed", { reason, rolledBackAt: this.now() });
      await this.send({ type: "phase.failed", phase, now: this.now(), reason });
      await this.rollBack();
    }
  }

  /** The rollout phase ends (promoted, or rolled back): it keeps the time it started, and says how it ended. */
  private async endRolloutPhase(status: "completed" | "failed", metadata: Record<string, unknown>): Promise<void> {
    const started = (await this.o.store.migrationStatus.list(this.migrationId)).find((p) => p.phase === "rollout");
    await this.o.store.migrationStatus.record({
      migrationId: this.migrationId, phase: "rollout", status, startedAt: started?.startedAt ?? this.now(), completedAt: this.now(), metadata: JSON.parse(JSON.stringify({ ...started?.metadata, ...metadata })),
    });
  }

  /** Put everything back on V1: the rollout's own rollback when it exists, else share 0 and V2 stopped. */
  private async rollBack(): Promise<void> {
    const rolloutState = this.rollout?.status().state;
    if (rolloutState === "active" || rolloutState === "paused" || rolloutState === "promoted") await this.rollout!.rollback(this.actor.getSnapshot().context.reason ?? "migration failed");
    if (this.o.flags.get("pool_v2_share") !== 0) await this.o.flags.set("pool_v2_share", 0, { by: `migration ${this.migrationId}`, reason: "rollback" });
    await this.send({ type: "rollback.completed", now: this.now() });
  }
}

/** Every file under `dir`, relative to it; none when it does not exist. */
function listFiles(dir: string): string[] {
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile()).sort();
  } catch {
    return [];
  }
}
