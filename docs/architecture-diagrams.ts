// The generated parts of docs/architecture.md: the table of components and
// the Mermaid diagrams of how a call, a decision and an operator's command
// flow through them. Each component is the function or class that makes it,
// imported here (a rename breaks this file), with the module that defines
// it; each arrow that names a function names one that a module of one of its
// two ends defines (or calls as a plain function).
// architectureProblems() lists whatever no longer holds, and
// docs/generate-diagrams.ts (`--check`) and test/docs.test.ts fail on it.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  attachStatsd,
  createFlags,
  createFleetNode,
  createMigration,
  createPool,
  createRolloutController,
  createRouter,
  createWebhookNotifier,
  EventBus,
  judge,
  openStore,
  RolloutEventStream,
  startDashboard,
} from "../mod.ts";
import { PoolBreakers } from "../src/pool/breakers.ts";
import { PythonWorker } from "../src/worker/python-worker.ts";

/** A part of molt: what makes it, where, and which docs describe it. */
interface Component {
  /** What an operator calls it. */
  readonly name: string;
  /** The export that makes it (its `.name` is what the docs print), or null for a program with no export (the CLI, the Python worker). */
  readonly api: { readonly name: string } | null;
  /** The file that defines `api` (or is the program); the first place a method is looked for. */
  readonly module: string;
  /** Further files whose functions the flows name. */
  readonly also?: readonly string[];
  /** Its docs, relative to docs/ (an anchor is checked against the headings). */
  readonly docs: readonly string[];
}

const COMPONENTS = {
  worker: { name: "worker", api: PythonWorker, module: "src/worker/python-worker.ts", also: ["src/worker/spawn-worker.ts"], docs: ["protocol.md", "machines/worker.md"] },
  python: { name: "Python worker", api: null, module: "src/python/molt/worker.py", docs: ["python-handlers.md"] },
  pool: { name: "pool", api: createPool, module: "src/pool/pool.ts", also: ["src/pool/supervisor.ts", "src/telemetry/metrics-window.ts"], docs: ["pools.md", "machines/pool.md"] },
  breaker: {
    name: "breaker", api: PoolBreakers, module: "src/pool/breakers.ts", also: ["src/resilience/pool-gate.ts", "src/resilience/breaker.ts"],
    docs: ["pools.md#retry-and-the-circuit-breaker", "machines/breaker.md"],
  },
  router: { name: "router", api: createRouter, module: "src/routing/router.ts", also: ["src/routing/route.ts", "src/routing/shadow.ts"], docs: ["routing.md"] },
  flags: { name: "flags", api: createFlags, module: "src/flags/flags.ts", also: ["src/flags/bucket.ts"], docs: ["flags.md"] },
  store: {
    name: "store", api: openStore, module: "src/store/store.ts",
    also: ["src/store/persist-actor.ts", "src/store/tables/commands.ts", "src/store/tables/decisions.ts", "src/store/tables/journal.ts", "src/store/tables/pool-metrics.ts", "src/store/tables/flags.ts"],
    docs: ["store.md"],
  },
  monitor: { name: "monitor", api: judge, module: "src/monitor/judge.ts", also: ["src/monitor/thresholds.ts"], docs: ["operations.md#reading-the-decision-log"] },
  controller: {
    name: "rollout controller", api: createRolloutController, module: "src/rollout/controller.ts",
    also: ["src/rollout/arm-window.ts", "src/rollout/rollback.ts", "src/rollout/announcer.ts", "src/fleet/fleet-arms.ts"],
    docs: ["migration-guide.md#4-let-the-monitor-move-the-stages", "machines/rollout.md"],
  },
  migration: { name: "migration", api: createMigration, module: "src/migration/migration.ts", docs: ["migration-guide.md", "machines/migration.md"] },
  fleet: {
    name: "fleet node", api: createFleetNode, module: "src/fleet/node.ts", also: ["src/fleet/lease-keeper.ts", "src/fleet/fleet-arms.ts", "src/fleet/window-recorder.ts"],
    docs: ["fleet.md"],
  },
  cli: { name: "CLI (molt)", api: null, module: "src/cli/molt.ts", also: ["src/cli/status.ts", "src/fleet/emergency.ts"], docs: ["operations.md"] },
  dashboard: { name: "dashboard", api: startDashboard, module: "src/dashboard/server.ts", also: ["src/dashboard/actions.ts"], docs: ["dashboard.md"] },
  events: { name: "event bus", api: EventBus, module: "src/telemetry/events.ts", docs: ["telemetry.md#events"] },
  statsd: { name: "StatsD sink", api: attachStatsd, module: "src/telemetry/statsd-sink.ts", also: ["src/telemetry/rollout-metrics.ts"], docs: ["telemetry.md#statsd", "monitoring.md"] },
  rolloutEvents: { name: "rollout events", api: RolloutEventStream, module: "src/rollout/rollout-events.ts", docs: ["notifications.md#the-events"] },
  notifiers: { name: "notifiers", api: createWebhookNotifier, module: "src/notify/webhook-notifier.ts", also: ["src/notify/slack-notifier.ts", "src/notify/notifier.ts"], docs: ["notifications.md"] },
} as const satisfies Record<string, Component>;

type Id = keyof typeof COMPONENTS;

/** A box of the component diagram: a component, or one instance of it (the two pools). */
interface Box {
  readonly id: string;
  readonly of: Id;
  readonly label?: string;
}

/** Boxes inside one application process, then those outside it. */
const IN_PROCESS: readonly Box[] = [
  { id: "migration", of: "migration" },
  { id: "fleet", of: "fleet" },
  { id: "router", of: "router" },
  { id: "flags", of: "flags" },
  { id: "v1", of: "pool", label: "pool V1 (basic)" },
  { id: "v2", of: "pool", label: "pool V2 (enhanced)" },
  { id: "breaker", of: "breaker" },
  { id: "worker", of: "worker", label: "workers" },
  { id: "python", of: "python", label: "Python processes" },
  { id: "controller", of: "controller" },
  { id: "monitor", of: "monitor" },
  { id: "events", of: "events" },
  { id: "rolloutEvents", of: "rolloutEvents" },
  { id: "statsd", of: "statsd" },
  { id: "notifiers", of: "notifiers" },
];
const OUTSIDE: readonly Box[] = [
  { id: "store", of: "store", label: "store (SQLite or PostgreSQL)" },
  { id: "cli", of: "cli" },
  { id: "dashboard", of: "dashboard" },
];

/** Arrows of the component diagram: from, to, what passes. */
const LINKS: readonly (readonly [string, string, string])[] = [
  ["migration", "v2", "starts"],
  ["migration", "router", "puts in front"],
  ["migration", "controller", "runs"],
  ["fleet", "controller", "runs while leader"],
  ["router", "flags", "share, in memory"],
  ["router", "v1", "calls"],
  ["router", "v2", "calls, shadow calls"],
  ["v2", "breaker", "admits?"],
  ["v1", "worker", "frames"],
  ["v2", "worker", "frames"],
  ["worker", "python", "stdin / stdout"],
  ["v1", "events", "events"],
  ["v2", "events", "events"],
  ["events", "statsd", ""],
  ["controller", "v1", "reads window"],
  ["controller", "v2", "reads window"],
  ["controller", "monitor", "judge"],
  ["controller", "flags", "sets share"],
  ["controller", "rolloutEvents", "one per decision"],
  ["rolloutEvents", "notifiers", ""],
  ["rolloutEvents", "statsd", ""],
  ["flags", "store", "flags, change log"],
  ["controller", "store", "journal, decisions"],
  ["fleet", "store", "lease, beats, windows"],
  ["migration", "store", "phases, backups, windows"],
  ["cli", "store", "commands, share 0"],
  ["dashboard", "store", "reads, commands"],
];

/**
 * A sequence diagram, written as Mermaid with two annotations that are
 * checked and then left out of the drawing: `{component}` at the end of a
 * `participant` line says which component it is (none: something outside
 * molt), and `[name]` at the end of a message names the function it stands
 * for, which a module of one of its two ends must define.
 */
interface Sequence {
  readonly title: string;
  readonly script: string;
}

const CALL: Sequence = {
  title: "A call",
  script: `
participant app as your service
participant router as router {router}
participant flags as flags {flags}
participant v2 as pool V2 {pool}
participant breaker as breaker {breaker}
participant worker as worker {worker}
participant python as Python {python}
participant v1 as pool V1 {pool}
participant events as event bus {events}
app->>router: execute(command, args, { sessionId, idempotent, timeoutMs }) [execute]
router->>flags: get pool_v2_enabled, pool_v2_share (memory, no I/O) [get]
router->>router: decide: bucketOf(session or request id) below the share? V2 : V1 [decide]
alt bound for V2 and V2 serving
  router->>v2: execute (deadline = now + timeoutMs) [execute]
  v2->>breaker: gate admit (only while not closed) [admit]
  v2->>v2: leastLoaded worker, or enqueue (maxQueue, queueTimeoutMs) [leastLoaded]
  v2->>worker: callChecked: a request frame [callChecked]
  worker->>python: frame on stdin
  python-->>worker: response frame on stdout (or cancel after the deadline)
  worker-->>v2: result, or a tagged error
  v2->>breaker: succeeded / failed (the position's breaker) [succeeded]
  v2->>v2: retry a safe failure while the deadline allows [retry]
  v2->>events: emit call.completed (window, StatsD) [emit]
  v2-->>router: result, or BreakerOpenError / PoolDrainingError unrun
  opt V2 refused it before it ran
    router->>v1: execute on V1 (reason v2_unavailable) [execute]
  end
else bound for V1, or V2 not serving
  router->>v1: execute (one call per worker, FIFO queue) [execute]
end
router-->>app: the result (a sample is shadowed on the other arm and compared)
`,
};

const DECISION: Sequence = {
  title: "A decision",
  script: `
participant timer as migration.tick() or a fleet leader's timer
participant controller as rollout controller {controller}
participant pools as pools V1, V2 {pool}
participant monitor as monitor {monitor}
participant store as store {store}
participant rolloutEvents as rollout events {rolloutEvents}
participant flags as flags {flags}
timer->>controller: tick (one at a time) [tick]
alt one process
  controller->>pools: LocalArms read: metrics(), stats() of each arm, the router's shadow counts [metrics]
else a fleet's leader
  controller->>store: FleetArms read: every node's windows over spanMs, merged [read]
end
controller->>monitor: judge(v1, v2, shadow, thresholds): pass, fail, inconclusive, insufficient_data [judge]
controller->>store: journal window.judged (persisted rollout machine) [send]
controller->>store: record the decision (judged, advanced, paused, rolling_back, ...) [record]
controller->>rolloutEvents: emit one event per decision recorded: notifiers, StatsD [emit]
controller->>flags: set pool_v2_share to the new state's share (unless paused) [set]
flags-->>store: stored, with its change: every process's flags reload
opt the machine entered rollingBack
  controller->>controller: RollbackManager run: share 0, drain V2, stop or keep warm, tell [run]
end
opt the tick threw
  controller->>pools: rollout.tick_failed on V2's bus, a tick_failed decision, held after maxTickFailures [emit]
end
`,
};

const COMMAND: Sequence = {
  title: "An operator's command",
  script: `
participant operator as operator
participant cli as molt CLI or dashboard {cli}
participant store as store {store}
participant leader as migration.serve() or the fleet's leader {migration}
participant controller as rollout controller {controller}
operator->>cli: molt rollout pause --reason ... --by ...
alt emergency rollback
  cli->>store: requestEmergencyRollback: share 0 stored at once, the leader's term ended [requestEmergencyRollback]
end
cli->>store: commands enqueue (status pending) [enqueue]
loop every 250 ms (serve's pollMs, a fleet's commandPollMs)
  leader->>store: claim the next command (once, fenced by the lease term in a fleet) [claim]
end
leader->>controller: pause / resume / promote / abort / rollback / ... [pause]
leader->>store: complete: applied or failed, with the result [complete]
cli->>store: applied: polls the command until --wait-ms (exit 2 after it, 3 with no live leader) [applied]
cli-->>operator: pause applied: rollout paused, V2 share 5%
`,
};

const SEQUENCES = [CALL, DECISION, COMMAND] as const;

const PARTICIPANT = /^participant (\w+) as (.+?)(?: \{(\w+)\})?$/;
const MESSAGE = /^(\w+)(-->>|->>)(\w+): (.+?)(?: \[(\w+)\])?$/;

const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string): string | null => (existsSync(root + path) ? readFileSync(root + path, "utf8") : null);

/** GitHub's anchor of a markdown heading. */
const slug = (heading: string): string => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");

/** The files a component's methods are looked for in. */
const filesOf = (c: Component): readonly string[] => [c.module, ...(c.also ?? [])];

/** Whether `name` is defined (or called as a plain function) in one of `files`: `name(`, `name<…>(`, not `.name(`. */
function defines(files: readonly string[], name: string): boolean {
  const pattern = new RegExp(`(?<![.\\w])${name}\\s*(<[^()]*>)?\\s*\\(`);
  return files.some((f) => pattern.test(read(f) ?? ""));
}

/** Everything in the description that no longer matches the code or the docs; empty when all holds. */
export function architectureProblems(): string[] {
  const problems: string[] = [];
  for (const [id, c] of Object.entries(COMPONENTS) as [Id, Component][]) {
    for (const file of filesOf(c)) if (read(file) === null) problems.push(`${id}: ${file} does not exist`);
    const source = read(c.module) ?? "";
    if (c.api !== null && !new RegExp(`export (async )?(function|class|const) ${c.api.name}\\b`).test(source)) {
      problems.push(`${id}: ${c.module} does not export ${c.api.name}`);
    }
    for (const doc of c.docs) {
      const [file, anchor] = doc.split("#");
      const text = read(`docs/${file}`);
      if (text === null) problems.push(`${id}: docs/${file} does not exist`);
      else if (anchor !== undefined && !text.split("\n").some((l) => /^#{1,6} /.test(l) && slug(l.replace(/^#+/, "")) === anchor)) {
        problems.push(`${id}: docs/${file} has no heading #${anchor}`);
      }
    }
  }
  const boxes = new Set([...IN_PROCESS, ...OUTSIDE].map((b) => b.id));
  for (const [from, to] of LINKS) for (const end of [from, to]) if (!boxes.has(end)) problems.push(`component diagram: no box ${end}`);
  for (const s of SEQUENCES) {
    const of = new Map<string, Id | null>();
    for (const line of s.script.trim().split("\n").map((l) => l.trim())) {
      const p = PARTICIPANT.exec(line);
      if (p !== null) {
        if (p[3] !== undefined && !(p[3] in COMPONENTS)) problems.push(`${s.title}: no component ${p[3]}`);
        of.set(p[1]!, (p[3] as Id | undefined) ?? null);
        continue;
      }
      const m = MESSAGE.exec(line);
      if (m === null) {
        if (!/^(alt|else|opt|loop) \S|^end$/.test(line)) problems.push(`${s.title}: cannot read "${line}"`);
        continue;
      }
      const [, from, , to, , fn] = m;
      for (const end of [from!, to!]) if (!of.has(end)) problems.push(`${s.title}: no participant ${end}`);
      if (fn === undefined) continue;
      const ends = [of.get(from!), of.get(to!)].filter((e): e is Id => e !== null && e !== undefined && e in COMPONENTS);
      const files = ends.flatMap((e) => filesOf(COMPONENTS[e]));
      if (!defines(files, fn)) problems.push(`${s.title}: neither ${from} nor ${to} (${files.join(", ") || "outside molt"}) has ${fn}()`);
    }
  }
  return problems;
}

const label = (box: Box): string => {
  const c: Component = COMPONENTS[box.of];
  return `${box.label ?? c.name}<br/>${c.api?.name ?? c.module}`;
};

function components(): string {
  const out = ["flowchart LR", '  subgraph process["each application process"]'];
  for (const box of IN_PROCESS) out.push(`    ${box.id}["${label(box)}"]`);
  out.push("  end");
  // The store is drawn as a database.
  for (const box of OUTSIDE) out.push(box.of === "store" ? `  ${box.id}[("${label(box)}")]` : `  ${box.id}["${label(box)}"]`);
  for (const [from, to, what] of LINKS) out.push(`  ${from} -->${what === "" ? "" : `|${what}|`} ${to}`);
  return out.join("\n");
}

/** The script as Mermaid: the annotations left out, blocks indented. */
function sequence(s: Sequence): string {
  const out = ["sequenceDiagram"];
  let depth = 1;
  for (const line of s.script.trim().split("\n").map((l) => l.trim())) {
    if (line === "end" || line.startsWith("else ")) depth--;
    out.push("  ".repeat(depth) + line.replace(/ \{\w+\}$/, "").replace(/ \[\w+\]$/, ""));
    if (/^(alt|else|opt|loop) /.test(line)) depth++;
  }
  return out.join("\n");
}

function table(): string {
  const rows = ["| component | made by | module | docs |", "| --- | --- | --- | --- |"];
  for (const c of Object.values(COMPONENTS) as Component[]) {
    const docs = c.docs.map((d) => `[${d}](${d})`).join(", ");
    rows.push(`| ${c.name} | ${c.api === null ? "—" : `\`${c.api.name}\``} | [${c.module}](../${c.module}) | ${docs} |`);
  }
  return rows.join("\n");
}

/** The generated regions of docs/architecture.md, by name. */
export const ARCHITECTURE_REGIONS: Readonly<Record<string, string>> = {
  table: table(),
  components: "```mermaid\n" + components() + "\n```",
  call: "```mermaid\n" + sequence(CALL) + "\n```",
  decision: "```mermaid\n" + sequence(DECISION) + "\n```",
  command: "```mermaid\n" + sequence(COMMAND) + "\n```",
};

/**
 * `text` (docs/architecture.md) with every generated region filled in: a
 * region runs from `<!-- BEGIN generated: <name> … -->` to
 * `<!-- END generated: <name> -->`. A region missing from the text is an error.
 */
export function fillArchitecture(text: string): string {
  let out = text;
  for (const [name, body] of Object.entries(ARCHITECTURE_REGIONS)) {
    const region = new RegExp(`(<!-- BEGIN generated: ${name}\\b[^\\n]*-->\\n)[\\s\\S]*?(<!-- END generated: ${name} -->)`);
    if (!region.test(out)) throw new Error(`docs/architecture.md has no generated region "${name}"`);
    out = out.replace(region, (_, begin: string, end: string) => `${begin}${body}\n${end}`);
  }
  return out;
}
