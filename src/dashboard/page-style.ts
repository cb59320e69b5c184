/**
 * The dashboard's stylesheet, served at `/app.css` (a file of its own: the
 * Content-Security-Policy allows no inline style).
 *
 * @module
 */

/**
 * The stylesheet.
 *
 * @example
 * ```ts
 * import { DASHBOARD_STYLE } from "./page-style.ts";
 * console.log(DASHBOARD_STYLE.includes("svg.machine .current rect")); // true
 * ```
 */
export const DASHBOARD_STYLE: string = `body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;padding:.6rem 1rem;background:#fff;border-bottom:1px solid #ddd;position:sticky;top:0;z-index:1}
h1{font-size:1.15rem;margin:0}h2{font-size:1rem;margin:.2rem 0 .5rem}
main{padding:0 1rem 2rem}section{background:#fff;border:1px solid #e2e2e2;border-radius:6px;padding:.6rem .8rem;margin:.8rem 0}
.muted{color:#777;font-weight:normal}
#summary{display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin:0}#summary div{display:flex;gap:.3rem}#summary dt{color:#777}#summary dd{margin:0;font-weight:600}
.live{margin-left:auto;font-size:.85rem;color:#777}.live.on::before{content:"● ";color:#2ca02c}.live.off::before{content:"● ";color:#d62728}
table{border-collapse:collapse;width:100%;font-size:.85rem}td,th{border-bottom:1px solid #eee;padding:.2rem .4rem;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}td.why{max-width:48rem}tr.collapsed td{color:#777;font-style:italic}tr.stale td{color:#999}
tr.kind-rolled_back td,tr.kind-rolling_back td,tr.kind-operator\\.emergency_rollback td{background:#fdecea}tr.kind-advanced td,tr.kind-promoted td{background:#edf7ed}
.verdict-fail,.status-failed{color:#d62728;font-weight:600}.verdict-pass,.status-applied{color:#2ca02c}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:.6rem}.charts svg{width:100%;height:auto}
.machines{display:flex;flex-direction:column;gap:.4rem;overflow-x:auto}
svg .axis{stroke:#888}svg .tick{font-size:11px;fill:#555}svg .legend{font-size:11px;font-weight:600}svg .chart-title{font-size:13px;font-weight:600}
svg .marker{stroke-dasharray:4 3;stroke-width:1}svg .empty{fill:#999}
svg.machine rect{fill:#f4f4f4;stroke:#777}svg.machine .current rect{fill:#ffd54f;stroke:#c17900;stroke-width:2}
svg.machine text{font-size:11px}svg.machine .transition{stroke:#999}svg.machine marker path{fill:#999}
.columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:0 .8rem}
.fields{display:flex;flex-wrap:wrap;gap:.5rem 1rem;margin-bottom:.5rem}.fields label{display:flex;flex-direction:column;font-size:.8rem;color:#555}
.fields label.check{flex-direction:row;align-items:center;gap:.3rem}input{font:inherit;padding:.2rem .35rem}
.buttons{display:flex;flex-wrap:wrap;gap:.5rem}button{font:inherit;padding:.3rem .8rem;border:1px solid #999;border-radius:4px;background:#f4f4f4;cursor:pointer}
button.danger{border-color:#d62728;color:#a01818}#action-result{min-height:1.2em;margin:.4rem 0 0}#action-result.error{color:#d62728}
dialog{border:1px solid #999;border-radius:6px;max-width:32rem}code{font-size:90%}
`;
