/**
 * What the dashboard shows, read from the store as one JSON document: the
 * migration's and the rollout's states, the phases, the decision log, each
 * arm's windows and V2's share over time, the fleet's nodes, validation
 * results, shadow mismatches, the latest operator commands, and the
 * machines and charts drawn as SVG. The same document is served at
 * `/api/snapshot` and pushed over `/api/events`.
 *
 * @module
 */
import { readFleet } from "../fleet/fleet-view.ts";
import { type RolloutSummary, rolloutSummary } from "../migration/format.ts";
import { readMigration } from "../migration/inspect.ts";
import type { Store } from "../store/store.ts";
import type { Decision } from "../store/tables/decisions.ts";
import type { MigrationPhase } from "../store/tables/migration-status.ts";
import type { ShadowMismatch } from "../store/tables/shadow-mismatches.ts";
import { type DashboardPoint, WindowSeries } from "./series.ts";
import { type DashboardViews, drawViews } from "./views.ts";

/** A node of the fleet, as the dashboard lists it. */
export interface DashboardNode {
  readonly nodeId: string;
  readonly host: string;
  readonly pid: number;
  readonly role: string;
  readonly live: boolean;
  /** How long since its heartbeat when the snapshot was read, on the store's clock. */
  readonly ageMs: number;
  readonly heartbeatAt: number;
  readonly shareBp: number | null;
  readonly version: string;
}

/** A stage change or a rollback, marked on every chart. */
export interface DashboardMarker {
  readonly at: number;
  readonly kind: string;
  readonly label: string;
}

/** An operator command and how it ended. */
export interface DashboardCommand {
  readonly id: number;
  readonly command: string;
  readonly requestedBy: string | null;
  readonly requestedAt: number;
  readonly status: string;
  readonly appliedAt: number | null;
  /** Why it failed, when it did. */
  readonly error: string | null;
}

/** Everything the page shows. */
export interface DashboardSnapshot {
  readonly migrationId: string;
  /** Where the store is (a path, or the URL without its password). */
  readonly store: string;
  /** When it was read (epoch ms, the dashboard's clock). */
  readonly generatedAt: number;
  /** True when the server has no token: the page offers no action. */
  readonly readOnly: boolean;
  /** null when the store has no such migration (yet). */
  readonly migration: { readonly state: string; readonly failedPhase: string | null; readonly reason: string | null } | null;
  readonly rollout: (RolloutSummary & { readonly pauseReason: string | null; readonly rollbackReason: string | null }) | null;
  readonly phases: readonly MigrationPhase[];
  /** The latest decisions (500 at most), oldest first. */
  readonly decisions: readonly Decision[];
  readonly series: {
    readonly windows: readonly DashboardPoint[];
    /** V2's share at each decision that changed it, oldest first. */
    readonly share: readonly { readonly at: number; readonly shareBp: number }[];
    readonly markers: readonly DashboardMarker[];
  };
  readonly fleet: { readonly leadership: string; readonly nodes: readonly DashboardNode[] };
  /** Each validation run's verdict (the full reports stay in the store: `molt report`). */
  readonly validations: readonly { readonly id: number; readonly kind: string; readonly at: number; readonly verdict: string }[];
  /** The latest shadow mismatches (ten at most), newest first. */
  readonly mismatches: readonly ShadowMismatch[];
  /** The latest operator commands (ten at most), newest first. */
  readonly commands: readonly DashboardCommand[];
  readonly views: DashboardViews;
}

const DECISIONS = 500;

/**
 * Reads snapshots of one migration; keeps what it has read of the windows,
 * so that reading again costs only what was written since.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * import { SnapshotReader } from "./snapshot.ts";
 * const store = await openStore(":memory:");
 * const snapshot = await new SnapshotReader(store, "demo", true).read();
 * console.log(snapshot.migration, snapshot.readOnly, snapshot.views.charts.length); // null true 7
 * await store.close();
 * ```
 */
export class SnapshotReader {
  private readonly windows: WindowSeries;

  constructor(private readonly store: Store, private readonly migrationId: string, private readonly readOnly: boolean) {
    this.windows = new WindowSeries(store, migrationId);
  }

  /** The migration as the store tells it now. */
  async read(): Promise<DashboardSnapshot> {
    const { store, migrationId } = this;
    const [m, fleet, validations, mismatches, commands, windows] = await Promise.all([
      readMigration(store, migrationId),
      readFleet(store, migrationId),
      store.validations.list(migrationId),
      store.shadowMismatches.list({ rolloutId: migrationId, limit: 10 }),
      store.commands.list(migrationId, 10),
      this.windows.read(),
    ]);
    const c = m.rollout?.context;
    const markers = m.decisions
      .filter((d) => d.shareTo !== d.shareFrom || d.kind.includes("roll"))
      .map((d) => ({ at: d.at, kind: d.kind, label: `${d.kind}: ${d.shareFrom / 100}% → ${d.shareTo / 100}%` }));
    const share = m.decisions.filter((d) => d.shareTo !== d.shareFrom).map((d) => ({ at: d.at, shareBp: d.shareTo }));
    const generatedAt = Date.now();
    const snapshot = {
      migrationId,
      store: store.location,
      generatedAt,
      readOnly: this.readOnly,
      migration: m.migration === null ? null : { state: m.migration.state, failedPhase: m.migration.failedPhase, reason: m.migration.reason },
      rollout: m.rollout === null || c === undefined ? null : {
        ...rolloutSummary(m.rollout),
        pauseReason: c.pauseReason,
        rollbackReason: c.rollbackReason,
      },
      phases: m.phases,
      decisions: m.decisions.slice(-DECISIONS),
      series: { windows, share, markers },
      fleet: {
        leadership: fleet.leadership,
        nodes: fleet.nodes.map((n) => ({
          nodeId: n.nodeId, host: n.host, pid: n.pid, role: n.role, live: n.live, ageMs: n.ageMs, heartbeatAt: n.heartbeatAt, shareBp: n.shareBp, version: n.version,
        })),
      },
      validations: validations.map((v) => ({ id: v.id, kind: v.kind, at: v.at, verdict: v.verdict })),
      mismatches,
      commands: commands.map((x) => ({
        id: x.id, command: x.command, requestedBy: x.requestedBy, requestedAt: x.requestedAt, status: x.status, appliedAt: x.appliedAt,
        error: x.status === "failed" ? String(x.result?.error ?? "failed") : null,
      })),
    };
    return { ...snapshot, views: drawViews(snapshot, generatedAt) };
  }
}

/**
 * What tells one snapshot from the next: everything but the time it was
 * read and the nodes' heartbeat ages, which change at every read (the page
 * ages them itself between pushes).
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * import { changeKey, SnapshotReader } from "./snapshot.ts";
 * const store = await openStore(":memory:");
 * const reader = new SnapshotReader(store, "demo", true);
 * const a = changeKey(await reader.read());
 * console.log(a === changeKey(await reader.read())); // true
 * await store.close();
 * ```
 */
export function changeKey(s: DashboardSnapshot): string {
  const { generatedAt: _at, views: _views, fleet, ...rest } = s;
  return JSON.stringify({ ...rest, fleet: { leadership: fleet.leadership, nodes: fleet.nodes.map(({ ageMs: _age, ...n }) => n) } });
}
