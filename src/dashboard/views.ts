/**
 * The dashboard's pictures, drawn on the server with the report's own SVG
 * drawing (src/migration/report-svg.ts): the migration and rollout machines
 * from their definitions with the current states filled, and one chart per
 * measure with V1 and V2 over time, stage changes and rollbacks marked.
 * The page puts them in place as they are; it draws nothing itself, so a
 * chart in the dashboard is the same as in `molt report --format html`.
 *
 * @module
 */
import { migrationMachine, rolloutMachine } from "../../machines/mod.ts";
import { type ChartMarker, type ChartSeries, lineChart, machineDiagram } from "../migration/report-svg.ts";
import type { DashboardMarker } from "./snapshot.ts";
import type { DashboardPoint } from "./series.ts";

/** One chart: its id (share, calls, errors, p50, p99, cpu, memory), title and SVG. */
export interface DashboardChart {
  readonly id: string;
  readonly title: string;
  readonly svg: string;
}

/** The pictures of a snapshot, as SVG text. */
export interface DashboardViews {
  readonly machines: { readonly migration: string; readonly rollout: string };
  readonly charts: readonly DashboardChart[];
}

/** What the pictures are drawn from. */
export interface ViewInput {
  readonly migration: { readonly state: string } | null;
  readonly rollout: { readonly detail: string; readonly shareBp: number } | null;
  readonly series: {
    readonly windows: readonly DashboardPoint[];
    readonly share: readonly { readonly at: number; readonly shareBp: number }[];
    readonly markers: readonly DashboardMarker[];
  };
}

const ARMS = [["v1", "V1", "#1f77b4"], ["v2", "V2", "#d62728"]] as const;

// A chart of zeros is scaled to the smallest number there is: its ticks read 0, not 5e-324.
const num = (v: number): string => (Math.abs(v) < 1e-9 ? "0" : String(Number(v.toPrecision(3))));

/**
 * Draw the machines and the charts of a snapshot; `now` ends the share's
 * last step.
 *
 * @example
 * ```ts
 * import { drawViews } from "./views.ts";
 * const views = drawViews({ migration: { state: "rollout" }, rollout: { detail: "active.stage", shareBp: 500 }, series: { windows: [], share: [], markers: [] } }, 0);
 * console.log(views.charts.map((c) => c.id).join(), views.machines.migration.includes('class="state current" data-state="rollout"')); // share,calls,errors,p50,p99,cpu,memory true
 * ```
 */
export function drawViews(s: ViewInput, now: number): DashboardViews {
  const markers: ChartMarker[] = s.series.markers.map((m) => ({ at: m.at, label: m.label, color: m.kind.includes("roll") ? "#d62728" : "#2ca02c" }));
  const perArm = (value: (p: DashboardPoint) => number | null): ChartSeries[] =>
    ARMS.map(([arm, name, color]) => ({
      name,
      color,
      points: s.series.windows.filter((p) => p.arm === arm && value(p) !== null).map((p) => [(p.from + p.to) / 2, value(p)!] as const),
    }));
  // The share holds from each change to the next, and the last one until now.
  const end = s.series.windows.reduce((t, p) => Math.max(t, p.to), now);
  const steps = s.series.share.map((x) => [x.at, x.shareBp / 100] as const);
  const held = steps.length === 0 ? [] : [...steps, [Math.max(end, steps.at(-1)![0]), steps.at(-1)![1]] as const];
  const share: ChartSeries[] = [
    { name: "V1", color: ARMS[0][2], step: true, points: held.map(([t, v]) => [t, 100 - v] as const) },
    { name: "V2", color: ARMS[1][2], step: true, points: held },
  ];
  const chart = (id: string, title: string, series: readonly ChartSeries[], unit: string): DashboardChart => ({
    id,
    title,
    svg: lineChart(title, series, markers, (v) => `${num(v)}${unit}`),
  });
  return {
    machines: {
      migration: machineDiagram(migrationMachine, s.migration === null ? [] : [s.migration.state]),
      rollout: machineDiagram(rolloutMachine, s.rollout === null ? [] : [s.rollout.detail]),
    },
    charts: [
      chart("share", "Share of calls per arm (%)", share, "%"),
      chart("calls", "Calls per second per arm", perArm((p) => p.callsPerS), "/s"),
      chart("errors", "Error rate per arm (%)", perArm((p) => (p.errorRate === null ? null : 100 * p.errorRate)), "%"),
      chart("p50", "p50 latency per arm (ms)", perArm((p) => p.p50Ms), " ms"),
      chart("p99", "p99 latency per arm (ms)", perArm((p) => p.p99Ms), " ms"),
      chart("cpu", "CPU per worker (%)", perArm((p) => p.cpuPercent), "%"),
      chart("memory", "Memory of the arm's workers (% of the machine)", perArm((p) => p.memoryPercent), "%"),
    ],
  };
}
