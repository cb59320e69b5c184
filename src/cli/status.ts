/**
 * `molt status`: one migration as an operator reads it, as a table or as
 * JSON (`--json`, the shape {@link StatusView} documents), once or over
 * time (`--watch`: redrawn in place on a terminal, a line per change into
 * a pipe).
 *
 * @module
 */
import type { Command } from "commander";
import { type Decision, readFleet, readMigration, type Store } from "../../mod.ts";
import { duration, pct } from "../migration/format.ts";
import { colourful, printJson, table } from "./output.ts";
import { CommandFailure, type Globals, unknownMigration, withStore } from "./context.ts";
import { durationArg } from "./options.ts";
import { stopWhenAsked } from "./stop-signal.ts";
import { sleepUnless } from "../sleep.ts";

/** One arm's numbers in the last judged window. */
interface ArmView {
  readonly calls: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** What `molt status --json` prints: one object, documented in docs/operations.md. */
export interface StatusView {
  readonly migrationId: string;
  readonly store: string;
  /** The migration machine's state (preflight … decommission, completed, failed, rolledBack), null with a bare rollout. */
  readonly phase: string | null;
  readonly failed: { readonly phase: string; readonly reason: string } | null;
  readonly rollout: {
    readonly state: string;
    readonly detail: string;
    /** 1-based, null in shadow and after the last stage. */
    readonly stage: number | null;
    readonly stages: number;
    readonly shareBp: number;
    readonly timeInStageMs: number;
    /** False while a fleet has no live leader: the stage clock stands still. */
    readonly clockRunning: boolean;
    readonly pauseReason: string | null;
    readonly rollbackReason: string | null;
  } | null;
  /** The last tick failure or hold, unless a tick has succeeded since. */
  readonly failing: { readonly kind: string; readonly at: number; readonly reason: string } | null;
  readonly arms: { readonly v1: ArmView; readonly v2: ArmView } | null;
  readonly fleet: {
    readonly leadership: string;
    readonly allGone: boolean;
    readonly nodes: readonly { readonly nodeId: string; readonly host: string; readonly pid: number; readonly role: string; readonly live: boolean; readonly heartbeatAgeMs: number; readonly shareBp: number | null; readonly version: string }[];
  } | null;
  /** The latest decisions, oldest first, runs of "judged" with the same share counted as one (`count`). */
  readonly decisions: readonly { readonly at: number; readonly kind: string; readonly shareFromBp: number; readonly shareToBp: number; readonly reason: string; readonly count: number }[];
}

/** The latest `limit` decisions, with each run of plain judgements that changed nothing folded into one row. */
function folded(decisions: readonly Decision[], limit: number): StatusView["decisions"] {
  const out: { at: number; kind: string; shareFromBp: number; shareToBp: number; reason: string; count: number }[] = [];
  for (const d of decisions) {
    const last = out.at(-1);
    if (last !== undefined && d.kind === "judged" && last.kind === "judged" && last.shareToBp === d.shareTo && d.shareFrom === d.shareTo) {
      Object.assign(last, { at: d.at, reason: d.reason, count: last.count + 1 });
    } else out.push({ at: d.at, kind: d.kind, shareFromBp: d.shareFrom, shareToBp: d.shareTo, reason: d.reason, count: 1 });
  }
  return out.slice(-limit);
}

/** Read a migration's status; null when the store has no such migration. */
export async function readStatus(store: Store, migrationId: string, now: number = Date.now()): Promise<StatusView | null> {
  const m = await readMigration(store, migrationId);
  if (m.migration === null && m.rollout === null) return null;
  const r = m.rollout;
  const c = r?.context;
  const fleet = await readFleet(store, migrationId);
  // With a fleet and nobody leading, the stage clock stands where the last decision left it.
  const frozen = fleet.nodes.length > 0 && fleet.leader === null;
  const lastElapsed = Number([...m.decisions].reverse().find((d) => typeof d.inputs.elapsedMs === "number")?.inputs.elapsedMs ?? c?.elapsedMs ?? 0);
  const judged = [...m.decisions].reverse().find((d) => (d.inputs as { v1?: unknown }).v1 !== undefined);
  const arms = judged?.inputs as { v1?: Record<string, number>; v2?: Record<string, number> } | undefined;
  const arm = (w: Record<string, number>): ArmView => ({ calls: w.calls ?? 0, errors: w.errors ?? 0, p50Ms: w.p50Ms ?? 0, p99Ms: w.p99Ms ?? 0 });
  const failing = [...m.decisions].reverse().find((d) => d.kind !== "started" && !d.kind.startsWith("operator."));
  return {
    migrationId,
    store: store.location,
    phase: m.migration?.state ?? null,
    failed: m.migration?.failedPhase ? { phase: m.migration.failedPhase, reason: m.migration.reason ?? "" } : null,
    rollout: r === null || c === undefined ? null : {
      state: r.state,
      detail: r.detail,
      stage: c.stage >= 0 && c.stage < c.plan.stages.length ? c.stage + 1 : null,
      stages: c.plan.stages.length,
      shareBp: r.shareBp,
      timeInStageMs: frozen ? lastElapsed : c.clockAt === null ? c.elapsedMs : c.elapsedMs + Math.max(0, now - c.clockAt),
      clockRunning: !frozen && c.clockAt !== null,
      pauseReason: c.pauseReason,
      rollbackReason: c.rollbackReason,
    },
    failing: failing?.kind === "tick_failed" || failing?.kind === "held" ? { kind: failing.kind, at: failing.at, reason: failing.reason } : null,
    arms: arms?.v1 !== undefined && arms.v2 !== undefined ? { v1: arm(arms.v1), v2: arm(arms.v2) } : null,
    fleet: fleet.nodes.length === 0 ? null : {
      leadership: fleet.leadership,
      allGone: fleet.allGone,
      nodes: fleet.nodes.map((n) => ({
        nodeId: n.nodeId, host: n.host, pid: n.pid, live: n.live, heartbeatAgeMs: n.ageMs, shareBp: n.shareBp, version: n.version,
        role: n.stoppedAt !== null ? "stopped" : n.live ? n.role : `${n.role} (stale)`,
      })),
    },
    decisions: folded(m.decisions, 8),
  };
}

/** The status as tables, for a person. */
export function renderStatus(s: StatusView): string {
  const out: string[] = [];
  const head = table();
  const r = s.rollout;
  head.push(
    { phase: s.phase ?? "—" },
    { rollout: r?.detail ?? "—" },
    { stage: r === null ? "—" : r.stage === null ? "—" : `${r.stage} of ${r.stages}` },
    { "V2 share": r === null ? "—" : pct(r.shareBp) },
    { "time in stage": r === null ? "—" : `${duration(r.timeInStageMs)}${r.clockRunning || r.state !== "active" ? "" : " (not counting: no live leader)"}` },
  );
  if (s.fleet !== null) head.push({ fleet: s.fleet.allGone ? `all ${s.fleet.nodes.length} nodes gone: nothing serves or leads this rollout` : s.fleet.leadership });
  if (s.failed !== null) head.push({ failed: `${s.failed.phase}: ${s.failed.reason}` });
  if (r?.pauseReason) head.push({ paused: r.pauseReason });
  if (s.failing !== null) head.push({ [s.failing.kind === "held" ? "held" : "tick failed"]: `${new Date(s.failing.at).toISOString()}: ${s.failing.reason}` });
  if (r?.rollbackReason) head.push({ "rolled back": r.rollbackReason });
  out.push(head.toString());
  if (s.arms !== null) {
    const t = table({ head: ["arm", "calls", "error rate", "p50 ms", "p99 ms"] });
    for (const [name, w] of [["V1", s.arms.v1], ["V2", s.arms.v2]] as const) {
      t.push([name, w.calls, w.calls ? `${((100 * w.errors) / w.calls).toFixed(2)}%` : "—", w.p50Ms.toFixed(2), w.p99Ms.toFixed(2)]);
    }
    out.push(t.toString());
  }
  if (s.fleet !== null) {
    const t = table({ head: ["node", "host", "pid", "role", "heartbeat", "share", "version"] });
    for (const n of s.fleet.nodes) t.push([n.nodeId, n.host, n.pid, n.role, `${duration(n.heartbeatAgeMs)} ago`, n.shareBp === null ? "—" : pct(n.shareBp), n.version]);
    out.push(t.toString());
  }
  const d = table({ head: ["time", "decision", "share", "why"], colWidths: [26, null, 16, 56], wordWrap: true });
  for (const x of s.decisions) {
    d.push([new Date(x.at).toISOString(), x.count > 1 ? `${x.kind} ×${x.count}` : x.kind, `${pct(x.shareFromBp)} → ${pct(x.shareToBp)}`, x.reason]);
  }
  out.push(d.toString());
  return out.join("\n");
}

/** One line for a pipe: what changes as a rollout moves. */
function statusLine(s: StatusView): string {
  const r = s.rollout;
  const last = s.decisions.at(-1);
  return [
    new Date().toISOString(),
    `phase=${s.phase ?? "-"}`,
    `rollout=${r?.detail ?? "-"}`,
    `share=${r === null ? "-" : pct(r.shareBp)}`,
    ...(s.failing === null ? [] : [`${s.failing.kind}=${JSON.stringify(s.failing.reason)}`]),
    ...(last === undefined ? [] : [`last=${last.kind}`]),
  ].join(" ");
}

/** `molt status`. */
export function registerStatus(program: Command): void {
  program.command("status").description("Phase, stage, share, time in stage, per-arm calls, error rate, p50/p99, the fleet, the latest decisions.")
    .option("--json", "print the status as JSON (its shape: docs/operations.md)")
    .option("--watch", "keep it current: redrawn in place on a terminal, a line per change when piped; Ctrl-C ends it")
    .option("--interval-ms <ms>", "how often --watch reads the store", durationArg(), 1000)
    .option("--timeout-ms <ms>", "end --watch after this long (default: never; Ctrl-C ends it)", durationArg())
    .action((o: { json?: boolean; watch?: boolean; intervalMs: number; timeoutMs?: number }) =>
      withStore(program, async (store, g: Globals) => {
        if (o.watch !== true) {
          const s = await readStatus(store, g.migration);
          if (s === null) throw new CommandFailure(await unknownMigration(store, g.migration), 1);
          return o.json ? printJson(s) : console.log(renderStatus(s));
        }
        await watch(store, g.migration, o);
      }, { create: false })
    );
}

async function watch(store: Store, migrationId: string, o: { json?: boolean; intervalMs: number; timeoutMs?: number }): Promise<void> {
  const tty = process.stdout.isTTY === true && o.json !== true;
  const { signal, dispose } = stopWhenAsked(o.timeoutMs);
  let previous = "";
  try {
    while (!signal.aborted) {
      const s = await readStatus(store, migrationId);
      const text = s === null ? `waiting: ${await unknownMigration(store, migrationId)}` : o.json ? JSON.stringify(s) : tty ? renderStatus(s) : statusLine(s);
      // A line per change into a pipe (the time stamp aside); the whole view, redrawn, on a terminal.
      const key = tty || s === null ? text : text.slice(text.indexOf(" ") + 1);
      if (tty) process.stdout.write(`\x1b[H\x1b[2J${text}\n${colourful() ? "\x1b[2m" : ""}every ${o.intervalMs} ms; Ctrl-C to stop${colourful() ? "\x1b[0m" : ""}\n`);
      else if (key !== previous) console.log(text);
      previous = key;
      await sleepUnless(o.intervalMs, signal);
    }
  } finally {
    dispose();
  }
}
