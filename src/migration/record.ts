/**
 * Everything the store tells about one migration, gathered once as plain
 * JSON: what `molt report` renders as markdown or HTML, and prints as is
 * with `--format json`.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { epochMs, nonEmptyString, option, required } from "../config.ts";
import { type Store, storeRule } from "../store/store.ts";
import type { Decision } from "../store/tables/decisions.ts";
import type { MigrationPhase } from "../store/tables/migration-status.ts";
import type { ShadowMismatch } from "../store/tables/shadow-mismatches.ts";
import type { ValidationResult } from "../store/tables/validations.ts";
import { checkArtifact, type CleanupItem, sha256, type WrittenArchive } from "./archive.ts";
import { duration, pct, type RolloutSummary, rolloutSummary } from "./format.ts";
import { type ArmPoint, armSeries, type Impact, impactOf, recordedRows } from "./impact.ts";
import { readMigration, type StoredMigration } from "./inspect.ts";
import { type Criterion, lessonsFrom, successCriteria } from "./lessons.ts";
import { readBackupFile } from "./restore.ts";

/** A file or stored document the migration left for the record, and whether it is still as written. */
export interface Artifact {
  readonly kind: "backup" | "archive" | "validation";
  readonly name: string;
  /** Where it is on disk; null for what lives only in the store. */
  readonly path: string | null;
  readonly bytes: number | null;
  readonly sha256: string | null;
  /** "intact": as written; "changed", "missing": not; "stored": in the store only. */
  readonly status: "intact" | "changed" | "missing" | "stored";
}

/** One phase as it ran. */
export interface PhaseRecord extends MigrationPhase {
  readonly durationMs: number | null;
  /** Why it failed, or its checks. */
  readonly notes: string;
}

/** A stage of the rollout: the share, when it was entered and left, and the judgements that held it. */
export interface StageRecord {
  /** V2's share in the stage, basis points. */
  readonly shareBp: number;
  /** When it was entered (epoch ms). */
  readonly from: number;
  /** When it was left; null while it lasts. */
  readonly to: number | null;
  /** Judgements that held the stage. */
  readonly judged: number;
}

/** What the report tells, as data. */
export interface MigrationRecord {
  readonly migrationId: string;
  readonly generatedAt: number;
  readonly store: string;
  readonly migration: StoredMigration["migration"];
  readonly rollout: (RolloutSummary & { readonly plan: string }) | null;
  readonly phases: readonly PhaseRecord[];
  /** Every decision, judgements that held the stage included. */
  readonly decisions: readonly Decision[];
  readonly stages: readonly StageRecord[];
  readonly incidents: readonly Decision[];
  readonly impact: Impact | null;
  /** Each arm's recorded windows over time, and V2's share at each decision that changed it. */
  readonly series: { readonly windows: readonly ArmPoint[]; readonly share: readonly { readonly at: number; readonly shareBp: number }[] };
  readonly lessons: readonly string[];
  readonly criteria: readonly Criterion[];
  readonly validations: readonly ValidationResult[];
  /** The latest shadow mismatches (five at most). */
  readonly mismatches: readonly ShadowMismatch[];
  /** Once V1 is decommissioned: what was taken away, V1's archive as written, and any step that failed after V1 had stopped. */
  readonly decommission: { readonly cleanup: readonly CleanupItem[]; readonly archive: WrittenArchive; readonly problems: readonly string[] } | null;
  readonly artifacts: readonly Artifact[];
}

const INCIDENTS = ["rolling_back", "rolled_back", "paused", "held", "recovered", "operator.rollback", "operator.abort", "operator.emergency_rollback", "operator.pause"];

/**
 * Gather the record of a migration from the store.
 *
 * @example
 * ```ts
 * import { openStore, readMigrationRecord } from "molt";
 * const store = await openStore(":memory:");
 * const record = await readMigrationRecord(store, "m1");
 * console.log(record.migration, record.decisions.length); // null 0
 * await store.close();
 * ```
 */
export async function readMigrationRecord(store: Store, migrationId: string, now: number = Date.now()): Promise<MigrationRecord> {
  required("readMigrationRecord", "store", store, storeRule);
  required("readMigrationRecord", "migrationId", migrationId, nonEmptyString);
  option("readMigrationRecord", "now", now, epochMs, 0);
  const m = await readMigration(store, migrationId);
  const validations = await store.validations.list(migrationId);
  const rows = await recordedRows(store, migrationId);
  const impact = impactOf(rows);
  const c = m.rollout?.context;
  const decommission = decommissionOf(m.phases);
  return {
    migrationId,
    generatedAt: now,
    store: store.location,
    migration: m.migration,
    rollout: m.rollout === null ? null : {
      ...rolloutSummary(m.rollout),
      plan: `${c!.plan.stages.map((s) => `${pct(s.weightBp)} for ${duration(s.minDurationMs)}`).join(", ")}, then 100%`,
    },
    phases: m.phases.map((p) => ({ ...p, durationMs: p.completedAt === null ? null : p.completedAt - p.startedAt, notes: phaseNotes(p) })),
    decisions: m.decisions,
    stages: stagesOf(m.decisions),
    incidents: m.decisions.filter((d) => INCIDENTS.includes(d.kind)),
    impact,
    series: { windows: armSeries(rows), share: m.decisions.filter((d) => d.shareTo !== d.shareFrom).map((d) => ({ at: d.at, shareBp: d.shareTo })) },
    lessons: lessonsFrom(m.decisions, validations, (await store.commands.list(migrationId, 10_000)).reverse()),
    criteria: successCriteria(m.decisions, validations, impact),
    validations,
    mismatches: await store.shadowMismatches.list({ rolloutId: migrationId, limit: 5 }),
    decommission,
    artifacts: await artifactsOf(store, migrationId, decommission, validations),
  };
}

function phaseNotes(p: MigrationPhase): string {
  if (typeof p.metadata.reason === "string") return p.metadata.reason;
  const checks = p.metadata.checks;
  return Array.isArray(checks) ? (checks as { check: string; ok: boolean; detail: string }[]).map((c) => `${c.ok ? "✓" : "✗"} ${c.check}: ${c.detail}`).join("; ") : "";
}

function stagesOf(decisions: readonly Decision[]): StageRecord[] {
  const stages: { shareBp: number; from: number; to: number | null; judged: number }[] = [];
  for (const d of decisions) {
    const current = stages.at(-1);
    if (d.shareTo !== d.shareFrom || (current === undefined && d.shareTo > 0)) {
      if (current !== undefined && current.to === null) current.to = d.at;
      if (d.shareTo > 0) stages.push({ shareBp: d.shareTo, from: d.at, to: null, judged: 0 });
    } else if (d.kind === "judged" && current !== undefined && current.to === null) current.judged++;
  }
  return stages;
}

function decommissionOf(phases: readonly MigrationPhase[]): MigrationRecord["decommission"] {
  const p = phases.find((x) => x.phase === "decommission" && x.status === "completed");
  const meta = p?.metadata as { cleanup?: CleanupItem[]; archive?: WrittenArchive; problems?: string[] } | undefined;
  return meta?.archive == null ? null : { cleanup: meta.cleanup ?? [], archive: meta.archive, problems: meta.problems ?? [] };
}

/** The backups taken for the migration, V1's archive (its manifest and every file it names), and the validation results, each checked as it is now. */
async function artifactsOf(store: Store, migrationId: string, decommission: MigrationRecord["decommission"], validations: readonly ValidationResult[]): Promise<Artifact[]> {
  const out: Artifact[] = [];
  const mine = new RegExp(`migration ${migrationId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\)|$)`);
  for (const info of (await store.backups.list()).filter((b) => mine.test(b.reason)).reverse()) {
    const stored = await store.backups.read(info.id);
    const text = JSON.stringify(stored?.document ?? null);
    if (info.file === null) {
      out.push({ kind: "backup", name: `${info.id} (${info.reason})`, path: null, bytes: Buffer.byteLength(text), sha256: sha256(text), status: "stored" });
      continue;
    }
    const onDisk = await readBackupFile(info.file).then((b) => b, () => null);
    const bytes = await readFile(info.file).then((b) => b, () => null);
    out.push({
      kind: "backup", name: `${info.id} (${info.reason})`, path: info.file, bytes: bytes?.length ?? null, sha256: bytes === null ? null : sha256(bytes),
      status: onDisk === null ? "missing" : JSON.stringify(onDisk.document) === text ? "intact" : "changed",
    });
  }
  // Checked against the checksums the store recorded when they were written, not against the manifest on disk, which could change with them.
  if (decommission !== null) {
    const { manifest, files } = decommission.archive;
    if (manifest !== null) out.push({ kind: "archive", name: "manifest.json", ...manifest, status: await checkArtifact(manifest) });
    for (const f of files) out.push({ kind: "archive", name: basename(f.path), ...f, status: await checkArtifact(f) });
  }
  for (const v of validations) {
    const text = JSON.stringify(v.report);
    out.push({ kind: "validation", name: `${v.kind} #${v.id} (${v.verdict}, ${new Date(v.at).toISOString()})`, path: null, bytes: Buffer.byteLength(text), sha256: sha256(text), status: "stored" });
  }
  return out;
}
