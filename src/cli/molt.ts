#!/usr/bin/env -S npx bun
// The molt CLI: operate a running migration through its store.
//
//   npx bun src/cli/molt.ts --help
//   npx bun src/cli/molt.ts status --store sqlite:./.molt/molt.db
//
// Commands that change a migration are written to the store; the running
// application (`migration.serve()`) applies them within its poll interval
// (250 ms by default) and writes the result back, which this command waits
// for. `flags` reads and writes the flags directly.
// First: on a runtime molt does not support, this fails before anything else loads.
import "../runtime-guard.ts";
import { readFileSync, writeFileSync } from "node:fs";
import Table from "cli-table3";
import { Command, Option } from "commander";
import { positiveDuration } from "../config.ts";
import { duration, pct, stageOf } from "../migration/format.ts";
import { MIGRATION_MACHINE_VERSION, migrationMachine, ROLLOUT_MACHINE_VERSION, rolloutMachine } from "../../machines/mod.ts";
import { backupById } from "../migration/restore.ts";
import type { DecommissionPlan } from "../migration/migration.ts";
import { pythonPackageDir } from "../process/python-package.ts";
import type { ReportFormat } from "../migration/report.ts";
import {
  createFlags,
  createPool,
  defaultCases,
  type EquivalenceReport,
  FLAG_NAMES,
  type FaultReport,
  type FlagName,
  isMoltError,
  type LoadReport,
  migrationReport,
  openStore,
  readBackupFile,
  readFleet,
  requestEmergencyRollback,
  restoreBackup,
  readMigration,
  type Store,
  validateEquivalence,
  validateFaults,
  validateLoad,
  validationMarkdown,
} from "../../mod.ts";

interface Globals {
  store: string;
  migration: string;
}

const program = new Command("molt")
  .description("Operate a molt migration through its store (SQLite path or PostgreSQL URL).")
  .addOption(new Option("--store <url>", "the application's store").env("MOLT_STORE").default("sqlite:./.molt/molt.db"))
  .addOption(new Option("--migration <id>", "the migration (and rollout) id").env("MOLT_MIGRATION").default("migration"))
  .showHelpAfterError();

const globals = (): Globals => program.opts<Globals>();

async function withStore<T>(fn: (store: Store, g: Globals) => Promise<T>): Promise<T> {
  const g = globals();
  const store = await openStore(g.store);
  try {
    return await fn(store, g);
  } finally {
    await store.close();
  }
}


/** Queue a command for the running application and wait for its result. */
/**
 * Queue a command for the process serving the migration and wait for its result;
 * `print` writes an applied command's result (default: the rollout's state and share).
 */
async function send(command: string, args: Record<string, unknown>, waitMsText: string, print: (result: Record<string, unknown>) => void = printProgress): Promise<void> {
  const waitMs = Number(waitMsText);
  // A bad wait is a usage error before anything is queued (NaN once made this wait forever).
  if (!positiveDuration.is(waitMs)) {
    console.error(`error: --wait-ms must be ${positiveDuration.allowed}, received ${JSON.stringify(waitMsText)}`);
    process.exitCode = 2;
    return;
  }
  await withStore(async (store, g) => {
    const by = `molt cli (pid ${process.pid})`;
    // Read first: an emergency ends the leader's term, after which nothing leads until the next node takes the lease.
    const fleet = await readFleet(store, g.migration);
    let id: number;
    if (command === "emergency_rollback") {
      // In the store itself: every node hears share 0 whether or not anything leads the rollout.
      id = (await requestEmergencyRollback(store, g.migration, { by, ...(args.reason === undefined ? {} : { reason: String(args.reason) }) })).commandId;
      console.log(`V2's share is 0 in the store: every node serving "${g.migration}" hears it within a second`);
    } else {
      id = await store.commands.enqueue({ target: g.migration, command, args, requestedBy: by });
    }
    if (fleet.nodes.length > 0 && fleet.leader === null) {
      const live = fleet.nodes.filter((n) => n.live).map((n) => n.nodeId);
      console.error(`${command} was queued (command ${id}) but ${fleet.leadership}; live nodes: ${live.length === 0 ? "none" : live.join(", ")}. The next node to take the lease applies it.`);
      // The emergency already took effect through the share; anything else waits for a leader.
      process.exitCode = command === "emergency_rollback" ? 0 : 3;
      return;
    }
    const deadline = Date.now() + waitMs;
    for (;;) {
      const c = await store.commands.get(id);
      if (c !== undefined && c.status !== "pending" && c.status !== "claimed") {
        if (c.status === "failed") {
          console.error(`${command} failed: ${String(c.result?.error)}`);
          process.exitCode = 1;
        } else print({ command, ...c.result });
        return;
      }
      if (Date.now() > deadline) {
        console.error(`${command} was queued (command ${id}) but not applied within ${waitMs} ms: is the application running migration "${g.migration}" with migration.serve() (or a fleet node)?`);
        process.exitCode = 2;
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  });
}

/** A migration answers with its progress; a fleet's leader with the rollout's status, and who it is. */
function printProgress(result: Record<string, unknown>): void {
  const r = result as { command: string; state?: string; detail?: string; shareBp?: number; appliedBy?: string; term?: number; rollout?: { detail?: string; shareBp?: number } | null };
  const by = r.appliedBy === undefined ? "" : ` by node ${r.appliedBy} (term ${r.term})`;
  const rollout = r.rollout === undefined ? { detail: r.detail, shareBp: r.shareBp } : r.rollout;
  const migration = r.rollout === undefined ? "" : `migration ${r.state}, `;
  console.log(`${r.command} applied${by}: ${migration}rollout ${rollout?.detail ?? "—"}, V2 share ${pct(rollout?.shareBp ?? 0)}`);
}

/** A decommission dry run: its checks, the archive it would write, what it would clean up; exit 1 when it would be refused. */
function printPlan(result: Record<string, unknown>): void {
  const plan = result as unknown as DecommissionPlan;
  const failed = plan.checks.filter((c) => !c.ok).length;
  console.log(`decommission of migration ${plan.migrationId} (${plan.state}), dry run: ${plan.ready ? "would go ahead" : `would be refused (${failed} check(s) not passed)`}`);
  for (const c of plan.checks) console.log(`  ${c.ok ? "✓" : "✗"} ${c.check}: ${c.detail}`);
  console.log(`archive: ${plan.archiveDir} (${plan.archiveFiles.join(", ")})`);
  for (const item of plan.cleanup) console.log(`  ${item.kind} ${item.what}: ${item.detail}`);
  if (!plan.ready) process.exitCode = 1;
}

const wait = new Option("--wait-ms <ms>", "how long to wait for the application to apply it").default("5000");

program.command("status").description("Phase, stage, share, time in stage, per-arm calls, error rate, p50/p99, last decisions.")
  .action(() =>
    withStore(async (store, g) => {
      const m = await readMigration(store, g.migration);
      if (m.migration === null && m.rollout === null) {
        console.log(`no migration "${g.migration}" in ${store.location}`);
        process.exitCode = 1;
        return;
      }
      const r = m.rollout;
      const c = r?.context;
      const fleet = await readFleet(store, g.migration);
      // With a fleet and nobody leading, the stage clock stands where the last decision left it.
      const frozen = fleet.nodes.length > 0 && fleet.leader === null;
      const lastElapsed = Number([...m.decisions].reverse().find((d) => typeof d.inputs.elapsedMs === "number")?.inputs.elapsedMs ?? c?.elapsedMs ?? 0);
      const last = [...m.decisions].reverse().find((d) => (d.inputs as { v1?: unknown }).v1 !== undefined);
      const arms = last?.inputs as { v1?: Record<string, number>; v2?: Record<string, number> } | undefined;
      const head = new Table();
      head.push(
        { phase: m.migration?.state ?? "—" },
        { rollout: r?.detail ?? "—" },
        { stage: c === undefined ? "—" : stageOf(c) },
        { "V2 share": r === null ? "—" : pct(r.shareBp) },
        {
          "time in stage": c === undefined
            ? "—"
            : frozen
            ? `${duration(lastElapsed)} (not counting: no live leader)`
            : duration(c.clockAt === null ? c.elapsedMs : c.elapsedMs + Math.max(0, Date.now() - c.clockAt)),
        },
      );
      if (fleet.nodes.length > 0) {
        const newest = Math.min(...fleet.nodes.map((n) => n.ageMs));
        head.push({ fleet: fleet.allGone ? `all ${fleet.nodes.length} nodes gone (last heard ${duration(newest)} ago): nothing serves or leads this rollout` : fleet.leadership });
      }
      if (m.migration?.failedPhase) head.push({ failed: `${m.migration.failedPhase}: ${m.migration.reason}` });
      if (c?.pauseReason) head.push({ paused: c.pauseReason });
      // A failing tick loop, unless a tick has succeeded since (a judged window, or the recovery).
      const failing = [...m.decisions].reverse().find((d) => d.kind !== "started" && !d.kind.startsWith("operator."));
      if (failing?.kind === "tick_failed" || failing?.kind === "held") head.push({ [failing.kind === "held" ? "held" : "tick failed"]: `${new Date(failing.at).toISOString()}: ${failing.reason}` });
      if (c?.rollbackReason) head.push({ "rolled back": c.rollbackReason });
      console.log(head.toString());
      if (arms?.v1 !== undefined && arms.v2 !== undefined) {
        const t = new Table({ head: ["arm", "calls", "error rate", "p50 ms", "p99 ms"] });
        for (const [name, w] of [["V1", arms.v1], ["V2", arms.v2]] as const) {
          t.push([name, w.calls, w.calls ? `${((100 * w.errors!) / w.calls).toFixed(2)}%` : "—", w.p50Ms!.toFixed(2), w.p99Ms!.toFixed(2)]);
        }
        console.log(t.toString());
      }
      if (fleet.nodes.length > 0) {
        const t = new Table({ head: ["node", "host", "pid", "role", "heartbeat", "share", "V1 calls", "V2 calls", "version"] });
        for (const n of fleet.nodes) {
          const role = n.stoppedAt !== null ? "stopped" : n.live ? n.role : `${n.role} (stale)`;
          const w = (n.state as { lastWindow?: { v1Calls?: number; v2Calls?: number } }).lastWindow;
          t.push([n.nodeId, n.host, n.pid, role, `${duration(n.ageMs)} ago`, n.shareBp === null ? "—" : pct(n.shareBp), w?.v1Calls ?? "—", w?.v2Calls ?? "—", n.version]);
        }
        console.log(t.toString());
      }
      const d = new Table({ head: ["time", "decision", "share", "why"], colWidths: [26, 22, 16, 60], wordWrap: true });
      for (const x of m.decisions.slice(-8)) d.push([new Date(x.at).toISOString(), x.kind, `${pct(x.shareFrom)} → ${pct(x.shareTo)}`, x.reason]);
      console.log(d.toString());
    })
  );

const flags = program.command("flags").description("Read or set the flags.");
flags.command("get").argument("[name]", `one of ${FLAG_NAMES.join(", ")}`).description("Print the flags (or one) with where each value comes from.")
  .action((name?: string) =>
    withStore(async (store) => {
      const f = await createFlags({ store });
      try {
        const t = new Table({ head: ["flag", "value", "source", "stored"] });
        for (const n of name === undefined ? FLAG_NAMES : [name as FlagName]) {
          const e = f.explain(n);
          t.push([n, String(e.value), e.source, e.stored === undefined ? "—" : String(e.stored)]);
        }
        console.log(t.toString());
      } finally {
        await f.close();
      }
    })
  );
flags.command("set").argument("<name>", "the flag").argument("<value>", "true/false, or basis points (2500) or a percentage (25%) for pool_v2_share")
  .option("--by <who>", "who is changing it").option("--reason <why>", "why")
  .description("Validate and store a flag; every running holder of the store sees it.")
  .action((name: string, text: string, o: { by?: string; reason?: string }) =>
    withStore(async (store) => {
      const f = await createFlags({ store, env: {} });
      try {
        const value = name === "pool_v2_share"
          ? (text.endsWith("%") ? Math.round(Number(text.slice(0, -1)) * 100) : Number(text))
          : text === "true" ? true : text === "false" ? false : text;
        const e = await f.set(name as FlagName, value as never, { by: o.by ?? "molt cli", reason: o.reason });
        console.log(`${name} = ${String(e.stored)} (effective here: ${String(e.value)} from ${e.source})`);
      } finally {
        await f.close();
      }
    })
  );

const rollout = program.command("rollout").description("Steer the rollout of the running migration.");
for (const [name, description] of [
  ["start", "Start the migration (or retry it after a rollback and its cool-down)."],
  ["pause", "Pause the rollout: time in the stage stops counting."],
  ["resume", "Resume a paused rollout."],
  ["promote", "Skip the remaining stages: V2 takes 100%."],
  ["abort", "Roll back and stop the rollout."],
] as const) {
  rollout.command(name).description(description).option("--reason <why>", "recorded with the decision").addOption(wait)
    .action((o: { reason?: string; waitMs: string }) => send(name, o.reason === undefined ? {} : { reason: o.reason }, o.waitMs));
}

program.command("rollback").description("Roll back to V1. --emergency flips the share to 0 in memory before anything else.")
  .option("--emergency", "in-memory flip first, persisted after").option("--reason <why>", "recorded with the decision").addOption(wait)
  .action((o: { emergency?: boolean; reason?: string; waitMs: string }) =>
    send(o.emergency ? "emergency_rollback" : "rollback", o.reason === undefined ? {} : { reason: o.reason }, o.waitMs)
  );

program.command("decommission").description("Archive and stop V1, once V2 has held 100% long enough with no V1 call and is healthy.").addOption(wait)
  .option("--dry-run", "show the checks, the archive and the clean-up, and change nothing (exit 1 when it would be refused)")
  .action((o: { waitMs: string; dryRun?: boolean }) => o.dryRun ? send("decommission_plan", {}, o.waitMs, printPlan) : send("decommission", {}, o.waitMs));

const backup = program.command("backup").description("List, show or restore the store's backups.");
backup.command("list").description("Every backup, newest first: id, when, why, file.")
  .action(() =>
    withStore(async (store) => {
      const t = new Table({ head: ["id", "taken", "reason", "file"] });
      for (const b of await store.backups.list()) t.push([b.id, new Date(b.createdAt).toISOString(), b.reason || "—", b.file ?? "—"]);
      console.log(t.toString());
    })
  );
backup.command("show").argument("<id>", "the backup").option("--json", "the whole backup as JSON")
  .description("What a backup holds: its flags, programs, pool configurations and machines.")
  .action((id: string, o: { json?: boolean }) =>
    withStore(async (store) => {
      const b = await backupById(store, id);
      if (o.json === true) return console.log(JSON.stringify(b, null, 2));
      const d = b.document;
      console.log(`${b.id}, taken ${new Date(b.createdAt).toISOString()} (${b.reason || "no reason given"}), schema ${d.schemaVersion ?? "unknown"}${b.file === null ? "" : `, file ${b.file}`}`);
      const t = new Table({ head: ["holds", "what"] });
      t.push(["flags (stored)", d.flags.map((f) => `${f.key} = ${JSON.stringify(f.value)}`).join("\n") || "none"]);
      if (d.effectiveFlags !== undefined) t.push(["flags (as the migration saw them)", d.effectiveFlags.map((f) => `${f.flag} = ${JSON.stringify(f.value)} from ${f.source}`).join("\n")]);
      t.push(["programs", d.programs.map((p) => `${p.id} (${p.contentHash.slice(0, 12)})`).join("\n") || "none"]);
      t.push(["pool configurations", d.poolConfigurations.map((c) => `${c.name} v${c.version}${c.active ? " (active)" : ""}`).join("\n") || "none"]);
      t.push(["machines", (d.machines ?? []).map((m) => `${m.actorId} at entry ${m.journalSeq}, ${m.snapshots.length} snapshot(s)`).join("\n") || "none"]);
      t.push(["nodes", String((d.nodes ?? []).length)]);
      console.log(t.toString());
    })
  );
backup.command("restore").argument("[id]", "the backup in the store (or --file)")
  .option("--file <path>", "restore a backup file instead (into this store, even a fresh one)")
  .option("--force", "restore even while a rollout is active").option("--by <who>", "who restores it", "molt cli").option("--reason <why>", "why")
  .description("Put flags, programs, pool configurations and machines back as the backup holds them, in one transaction.")
  .action((id: string | undefined, o: { file?: string; force?: boolean; by: string; reason?: string }) =>
    withStore(async (store, g) => {
      if ((id === undefined) === (o.file === undefined)) {
        console.error("error: give a backup id or --file, not both");
        process.exitCode = 2;
        return;
      }
      const source = o.file === undefined ? id! : await readBackupFile(o.file);
      const r = await restoreBackup(store, source, { by: o.by, force: o.force === true, migrationId: g.migration, ...(o.reason === undefined ? {} : { reason: o.reason }) });
      const rewound = r.machines.filter((m) => m.droppedEntries > 0 || m.forgotten).map((m) => m.forgotten ? `${m.actorId} forgotten` : `${m.actorId} back to entry ${m.journalSeq}`);
      console.log(`restored ${r.backupId}: flags changed: ${r.flagsChanged.join(", ") || "none"}; ${r.programs} program(s), ${r.poolConfigurations} pool configuration(s); machines: ${rewound.join(", ") || "unchanged"}`);
    })
  );

program.command("report").description("Write the migration report: phases, timeline, stages, incidents, customer impact, V1 against V2, lessons, success criteria, artifacts.")
  .option("--out <file>", "write it to a file instead of stdout")
  .addOption(new Option("--format <format>", "md (markdown), json (the record), or html (one page with charts and the machines)").choices(["md", "json", "html"]).default("md"))
  .action((o: { out?: string; format: ReportFormat }) =>
    withStore(async (store, g) => {
      const text = await migrationReport(store, g.migration, { format: o.format });
      if (o.out === undefined) console.log(text);
      else (writeFileSync(o.out, text), console.log(`wrote ${o.out}`));
    })
  );

program.command("python-path").description("Print the directory of molt's Python runtime: put it on PYTHONPATH (or in your editor's extra paths) to import molt in a handler's own tests.")
  .action(async () => console.log(await pythonPackageDir()));

program.command("inspect").description("Print the machine definitions (JSON for the Stately visualiser) and the live snapshots.")
  .option("--machines", "only the machine definitions").option("--snapshots", "only the live snapshots")
  .action((o: { machines?: boolean; snapshots?: boolean }) =>
    withStore(async (store, g) => {
      const out: Record<string, unknown> = {};
      if (!o.snapshots) {
        out.machines = {
          migration: { version: MIGRATION_MACHINE_VERSION, config: migrationMachine.config },
          rollout: { version: ROLLOUT_MACHINE_VERSION, config: rolloutMachine.config },
        };
      }
      if (!o.machines) {
        const m = await readMigration(store, g.migration);
        out.snapshots = { migration: m.migration, rollout: m.rollout };
      }
      console.log(JSON.stringify(out, null, 2));
    })
  );

program.command("validate").argument("[what]", "equivalence, load, faults or all", "all")
  .description("Run the validation suite on fresh V1 and V2 pools, store the results, and print them (markdown, or --json). Exit 0: every check passed; 1: one failed; 3: one had insufficient evidence; 2: usage.")
  .requiredOption("--v1-handler <path>", "V1's handler (module or .py file)")
  .requiredOption("--v2-handler <path>", "V2's handler")
  .option("--v1-python <path>", "V1's interpreter", "python3").option("--v2-python <path>", "V2's interpreter", "python3")
  .option("--size <n>", "workers per pool", "2").option("--users <n>", "concurrent callers", "8")
  .option("--duration-ms <ms>", "load run time, and time under each fault", "6000")
  .option("--command <name>", "the call the load and faults make", "ping")
  .option("--args <json>", "the load's and the faults' call arguments, as JSON (default null)")
  .option("--args-file <path>", "read those arguments from a JSON file")
  .option("--program-handler <command>", "a command both handlers serve, to exercise programs in the equivalence cases")
  .option("--tolerance <share>", "load: how much worse than V1 (a share of V1's value, 0 to 1) V2 may measure before it is called worse", "0.1")
  .option("--json", "print JSON instead of markdown")
  .action((what: string, o: Record<string, string | boolean | undefined>, command: Command) => {
    const kinds = what === "all" ? ["equivalence", "load", "faults"] : [what];
    const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: 2 });
    if (kinds.some((k) => !["equivalence", "load", "faults"].includes(k))) usage(`validate: expected equivalence, load, faults or all, received ${JSON.stringify(what)}`);
    const args = callArgs(o.args as string | undefined, o.argsFile as string | undefined, usage);
    const tolerance = Number(o.tolerance);
    if (!(tolerance >= 0 && tolerance < 1)) usage(`validate: --tolerance must be a number from 0 to 1 (exclusive), received ${JSON.stringify(o.tolerance)}`);
    return withStore(async (store, g) => {
      const size = Number(o.size);
      const arm = (name: "v1" | "v2") => ({
        name, handler: String(o[`${name}Handler`]), python: String(o[`${name}Python`]), size, onStderr: () => {},
        ...(name === "v1" ? { strategy: "basic" as const } : {}),
      });
      const results: unknown[] = [];
      for (const kind of kinds) {
        let report: EquivalenceReport | LoadReport | FaultReport;
        if (kind === "faults") report = await validateFaults({ v1: arm("v1"), v2: arm("v2"), users: Number(o.users), durationMs: Number(o.durationMs), command: String(o.command), args });
        else {
          const [v1, v2] = await Promise.all([createPool(arm("v1")), createPool(arm("v2"))]);
          try {
            report = kind === "equivalence"
              ? await validateEquivalence({ v1, v2, cases: defaultCases(o.programHandler as string | undefined) })
              : await validateLoad({ v1, v2, users: Number(o.users), durationMs: Number(o.durationMs), mix: [{ command: String(o.command), args }], tolerance, progress: o.json ? "none" : undefined });
          } finally {
            await Promise.all([v1.stop(), v2.stop()]);
          }
        }
        await store.validations.record({ target: g.migration, kind: report.kind, verdict: report.verdict, report: report as never });
        // Only a pass exits 0: a failure 1, and insufficient evidence 3 (unless something failed), so a script
        // can neither mistake "insufficient" for a pass nor for a failure.
        if (report.verdict === "fail") process.exitCode = 1;
        else if (report.verdict === "insufficient" && process.exitCode !== 1) process.exitCode = 3;
        results.push(report);
        if (!o.json) console.log(validationMarkdown(report));
      }
      if (o.json) console.log(JSON.stringify(results, null, 2));
    });
  });

/** The call's arguments from `--args` or `--args-file`: JSON, or a usage error naming the option. */
function callArgs(text: string | undefined, file: string | undefined, usage: (message: string) => never): unknown {
  if (text !== undefined && file !== undefined) usage("validate: give --args or --args-file, not both");
  if (file !== undefined) {
    let content: string;
    try {
      content = readFileSync(file, "utf8");
    } catch (e) {
      return usage(`validate: --args-file ${JSON.stringify(file)} cannot be read: ${(e as Error).message}`);
    }
    return parseJson("--args-file", content, usage);
  }
  return text === undefined ? null : parseJson("--args", text, usage);
}

function parseJson(option: string, text: string, usage: (message: string) => never): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return usage(`validate: ${option} must be JSON, received ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)} (${(e as Error).message})`);
  }
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  console.error(isMoltError(e) ? `${e._tag}: ${e.message}` : String((e as Error).message ?? e));
  process.exitCode = 1;
}
