/**
 * The report as one self-contained HTML page: the markdown report rendered
 * (any HTML inside the record's text escaped, never run), preceded by charts
 * of V2's share, error rate and p99 per arm over time, and the migration and
 * rollout machines with their current states. No script, nothing fetched.
 *
 * @module
 */
import { Marked } from "marked";
import { migrationMachine, rolloutMachine } from "../../machines/mod.ts";
import type { ArmPoint } from "./impact.ts";
import type { MigrationRecord } from "./record.ts";
import { type ChartMarker, type ChartSeries, escapeXml, lineChart, machineDiagram } from "./report-svg.ts";

// Text from the store (reasons, mismatches, handlers' output) is written as text, even where it looks like HTML; a link
// is kept only to http(s), and an image becomes its text: the page runs nothing and fetches nothing.
const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html: ({ text }) => escapeXml(text),
    link({ href, title, tokens }) {
      const text = this.parser.parseInline(tokens);
      return /^https?:\/\//i.test(href) ? `<a href="${escapeXml(href)}"${title ? ` title="${escapeXml(title)}"` : ""} rel="noreferrer">${text}</a>` : text;
    },
    image: ({ href, text }) => escapeXml(`[image ${text || href}]`),
  },
});

const ARMS = [["v1", "V1", "#1f77b4"], ["v2", "V2", "#d62728"]] as const;

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
code{font-size:90%;word-break:break-all}.charts,.machines{display:flex;flex-wrap:wrap;gap:1rem}
svg .axis{stroke:#888}svg .tick{font-size:11px;fill:#555}svg .legend{font-size:11px;font-weight:600}svg .chart-title{font-size:13px;font-weight:600}
svg .marker{stroke-dasharray:4 3;stroke-width:1}svg .empty{fill:#999}
svg.machine rect{fill:#f4f4f4;stroke:#777}svg.machine .current rect{fill:#ffd54f;stroke:#c17900;stroke-width:2}
svg.machine text{font-size:11px}svg.machine .transition{stroke:#999}svg.machine marker path{fill:#999}
.machines{overflow-x:auto}`;

/** @internal The page. */
export function htmlReport(record: MigrationRecord, markdown: string): string {
  const body = marked.parse(markdown) as string;
  const title = `Migration report: ${record.migrationId}`;
  // The pictures go after the title and the line that says when and from where, before the first section.
  const cut = body.indexOf("<h2");
  const pictures = `<h2>Over time</h2>
<section class="charts" aria-label="charts">${charts(record).join("\n")}</section>
<h2>Machines</h2>
<p>The migration's and the rollout's state machines, drawn from their definitions; the states they are in are filled. Hover a transition for its events.</p>
<section class="machines" aria-label="machines">
${machineDiagram(migrationMachine, record.migration === null ? [] : [record.migration.state])}
${machineDiagram(rolloutMachine, record.rollout === null ? [] : [record.rollout.detail])}
</section>
`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeXml(title)}</title><style>${STYLE}</style></head>
<body>
${cut < 0 ? body + pictures : body.slice(0, cut) + pictures + body.slice(cut)}
</body></html>
`;
}

function charts(r: MigrationRecord): string[] {
  const markers: ChartMarker[] = r.decisions
    .filter((d) => d.shareTo !== d.shareFrom || d.kind === "rolled_back" || d.kind === "rolling_back")
    .map((d) => ({ at: d.at, label: `${d.kind}: ${d.shareFrom / 100}% → ${d.shareTo / 100}%`, color: d.kind.startsWith("roll") || d.kind.includes("rollback") ? "#d62728" : "#2ca02c" }));
  const perArm = (value: (p: ArmPoint) => number | null): ChartSeries[] =>
    ARMS.map(([arm, name, color]) => ({
      name, color,
      points: r.series.windows.filter((p) => p.arm === arm && value(p) !== null).map((p) => [(p.from + p.to) / 2, value(p)!] as const),
    }));
  const share = r.series.share.map((s) => [s.at, s.shareBp / 100] as const);
  const end = r.series.windows.reduce((t, p) => Math.max(t, p.to), r.generatedAt);
  // The share holds from its last change until now.
  const shareSeries: ChartSeries = { name: "V2 share", color: "#d62728", step: true, points: share.length === 0 ? [] : [...share, [Math.max(end, share.at(-1)![0]), share.at(-1)![1]] as const] };
  return [
    lineChart("V2's share of calls (%)", [shareSeries], markers, (v) => `${Number(v.toPrecision(3))}%`),
    lineChart("Error rate per arm (%)", perArm((p) => (p.errorRate === null ? null : 100 * p.errorRate)), markers, (v) => `${Number(v.toPrecision(3))}%`),
    lineChart("p99 latency per arm (ms)", perArm((p) => p.p99Ms), markers, (v) => `${Number(v.toPrecision(3))} ms`),
  ];
}
