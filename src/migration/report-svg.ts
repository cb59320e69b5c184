/**
 * The report's pictures as inline SVG, drawn from data with nothing fetched:
 * line charts over time (per arm, with stage changes and rollbacks marked)
 * and the state machines, from their definitions, with the states the
 * migration is in highlighted.
 *
 * @module
 */
import type { AnyStateMachine } from "xstate";
import { toDirectedGraph } from "xstate/graph";

/** Text safe inside SVG or HTML. */
export const escapeXml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** One line of a chart. */
export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
  /** Held until the next point (a share set by decisions), instead of joined straight. */
  readonly step?: boolean;
}

/** A vertical mark at a time: a stage change, a rollback. */
export interface ChartMarker {
  readonly at: number;
  readonly label: string;
  readonly color: string;
}

const W = 720;
const H = 220;
const PAD = { left: 64, right: 16, top: 28, bottom: 28 };

/** A line chart over time; `format` writes the y axis's values. With no point, it says so instead of drawing an empty frame. */
export function lineChart(title: string, series: readonly ChartSeries[], markers: readonly ChartMarker[], format: (v: number) => string): string {
  const all = series.flatMap((s) => s.points);
  const head = `<svg class="chart" role="img" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg"><title>${escapeXml(title)}</title>`
    + `<text x="${PAD.left}" y="18" class="chart-title">${escapeXml(title)}</text>`;
  if (all.length === 0) return `${head}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="empty">no recorded window</text></svg>`;
  const xs = [...all.map((p) => p[0]), ...markers.map((m) => m.at)];
  // Folded, not spread: a long migration has more points than a call may take arguments.
  const x0 = xs.reduce((a, b) => Math.min(a, b), Infinity);
  const x1 = xs.reduce((a, b) => Math.max(a, b), x0 + 1);
  const y1 = all.reduce((a, p) => Math.max(a, p[1]), Number.MIN_VALUE) * 1.1;
  const x = (t: number): number => PAD.left + ((t - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const y = (v: number): number => H - PAD.bottom - (v / y1) * (H - PAD.top - PAD.bottom);
  const f = (n: number): string => n.toFixed(1);
  const out = [head, `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" class="axis"/>`, `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" class="axis"/>`];
  for (const v of [0, y1 / 2 / 1.1, y1 / 1.1]) out.push(`<text x="${PAD.left - 6}" y="${f(y(v) + 4)}" text-anchor="end" class="tick">${escapeXml(format(v))}</text>`);
  const clock = (t: number): string => new Date(t).toISOString().slice(11, 19);
  out.push(`<text x="${PAD.left}" y="${H - 8}" class="tick">${clock(x0)}</text>`, `<text x="${W - PAD.right}" y="${H - 8}" text-anchor="end" class="tick">${clock(x1)} UTC</text>`);
  for (const m of markers) {
    out.push(`<line class="marker" x1="${f(x(m.at))}" y1="${PAD.top}" x2="${f(x(m.at))}" y2="${H - PAD.bottom}" stroke="${m.color}"><title>${escapeXml(`${new Date(m.at).toISOString()} ${m.label}`)}</title></line>`);
  }
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const pts = s.step ? s.points.flatMap((p, j) => (j === 0 ? [p] : [[p[0], s.points[j - 1]![1]] as const, p])) : s.points;
    const d = pts.map((p, j) => `${j === 0 ? "M" : "L"}${f(x(p[0]))},${f(y(p[1]))}`).join(" ");
    out.push(`<path class="series" data-series="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    if (s.points.length === 1) out.push(`<circle cx="${f(x(s.points[0]![0]))}" cy="${f(y(s.points[0]![1]))}" r="3" fill="${s.color}"/>`);
    out.push(`<text x="${W - PAD.right - 4}" y="${PAD.top + 14 * i}" text-anchor="end" fill="${s.color}" class="legend">${escapeXml(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("");
}

interface GraphNode {
  readonly id: string;
  readonly stateNode: { readonly type: string };
  readonly children: readonly GraphNode[];
  readonly edges: readonly { readonly source: { readonly id: string }; readonly target: { readonly id: string }; readonly label: { readonly text: string } }[];
}

/**
 * A machine as an arc diagram: its states in a row, in the order they are
 * defined, each transition an arc (forward above, backward below), the
 * states in `current` filled.
 */
export function machineDiagram(machine: AnyStateMachine, current: readonly string[]): string {
  const root = toDirectedGraph(machine) as unknown as GraphNode;
  const nodes: GraphNode[] = [];
  const walk = (n: GraphNode): void => n.children.forEach((c) => (c.stateNode.type === "history" ? undefined : c.children.length === 0 ? nodes.push(c) : walk(c)));
  walk(root);
  const name = (id: string): string => id.split(".").slice(1).join(".");
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  // A transition to a compound state lands on its first leaf.
  const at = (id: string): number | undefined => index.get(id) ?? nodes.findIndex((n) => n.id.startsWith(`${id}.`));
  const step = 104;
  const width = 24 + step * nodes.length;
  const mid = 130;
  const edges = new Map<string, { from: number; to: number; labels: string[] }>();
  const all = (n: GraphNode): void => {
    for (const e of n.edges) {
      const from = at(e.source.id);
      const to = at(e.target.id);
      if (from === undefined || to === undefined || from < 0 || to < 0 || from === to) continue;
      const key = `${from}>${to}`;
      edges.set(key, { from, to, labels: [...(edges.get(key)?.labels ?? []), e.label.text] });
    }
    n.children.forEach(all);
  };
  all(root);
  const cx = (i: number): number => 12 + step * i + step / 2;
  const out = [`<svg class="machine" role="img" viewBox="0 0 ${width} 260" width="${width}" height="260" xmlns="http://www.w3.org/2000/svg"><title>${escapeXml(machine.id)} machine</title>`];
  for (const e of edges.values()) {
    const a = cx(e.from);
    const b = cx(e.to);
    const lift = Math.min(110, 18 + Math.abs(b - a) / 4) * (e.to > e.from ? -1 : 1);
    out.push(`<path class="transition" d="M${a},${mid + (lift < 0 ? -14 : 14)} Q${(a + b) / 2},${mid + 2 * lift} ${b},${mid + (lift < 0 ? -14 : 14)}" fill="none" marker-end="url(#arrow-${escapeXml(machine.id)})"><title>${escapeXml(`${name(nodes[e.from]!.id)} → ${name(nodes[e.to]!.id)}: ${[...new Set(e.labels)].join(", ")}`)}</title></path>`);
  }
  nodes.forEach((n, i) => {
    const on = current.includes(name(n.id));
    out.push(`<g class="state${on ? " current" : ""}" data-state="${escapeXml(name(n.id))}"><rect x="${cx(i) - step / 2 + 6}" y="${mid - 14}" width="${step - 12}" height="28" rx="8"/><text x="${cx(i)}" y="${mid + 5}" text-anchor="middle">${escapeXml(name(n.id))}</text></g>`);
  });
  out.push(`<defs><marker id="arrow-${escapeXml(machine.id)}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs></svg>`);
  return out.join("");
}
