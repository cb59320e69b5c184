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
import { Command, CommanderError, Option } from "commander";
import { DEFINITIONS } from "../flags/definitions.ts";
import { pct } from "../migration/format.ts";
import { backupById } from "../migration/restore.ts";
import type { DecommissionPlan } from "../migration/migration.ts";
import { pythonPackageDir } from "../process/python-package.ts";
import type { ReportFormat } from "../migration/report.ts";
import { postmortemReport } from "../migration/postmortem.ts";
import {
  createFlags,
  createPool,
  defaultCases,
  type EquivalenceReport,
  FLAG_NAMES,
  type FaultReport,
  type FlagName,
  type LoadReport,
  migrationReport,
  readBackupFile,
  readFleet,
  readMigration,
  requestEmergencyRollback,
  restoreBackup,
  type Store,
  validateEquivalence,
  validateFaults,
  validateLoad,
  validationMarkdown,
} from "../../mod.ts";
import { registerCompletion } from "./completion.ts";
import { registerDashboard } from "./dashboard-command.ts";
import { registerIncident } from "./incident-command.ts";
import { registerInspect } from "./inspect-command.ts";
import { CommandFailure, defaultOperator, describeError, type Globals, unknownMigration, withStore } from "./context.ts";
import { countArg, durationArg } from "./options.ts";
import { printJson, table } from "./output.ts";
import { registerStatus } from "./status.ts";
import { registerTrain } from "./train-command.ts";

const program = new Command("molt")
  .description("Operate a molt migration through its store (SQLite path or PostgreSQL URL).")
  .addOption(new Option("--store <url>", "the application's store").env("MOLT_STORE").default("sqlite:./.molt/molt.db"))
  .addOption(new Option("--migration <id>", "the migration (and rollout) id").env("MOLT_MIGRATION").default("migration"))
  // Usage errors come back here (exit 2) instead of commander exiting with 1.
  .exitOverride()
  .showHelpAfterError();

/** Where a changing command is recorded as coming from. */
const byOption = (): Option => new Option("--by <who>", "who is doing it, recorded with it (default: the OS user)");
const wait = (): Option => new Option("--wait-ms <ms>", "how long to wait for the application to apply it").argParser(durationArg()).default(5000);

/** The rollout states in which a rollout steers V2's share. */
const STEERING = ["active", "paused", "promoted"];

/**
 * Queue a command for the process serving the migration and wait (at most
 * `waitMs`) for its result; `print` writes an applied command's result
 * (default: the rollout's state and share).
 */
function send(command: string, args: Record<string, unknown>, o: { waitMs: number; by?: string }, print: (result: Record<string, unknown>) => void = printProgress): Promise<void> {
  return withStore(program, async (store, g) => {
    const by = o.by ?? defaultOperator();
    const noOp = await alreadyThere(store, g.migration, command);
    if (noOp !== null) return console.log(noOp);
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
      // The emergency already took effect through the share; anything else waits for a leader.
      if (command === "emergency_rollback") return;
      throw new CommandFailure(`${command} was queued (command ${id}) but ${fleet.leadership}; live nodes: ${live.length === 0 ? "none" : live.join(", ")}. The next node to take the lease applies it.`, 3);
    }
    const result = await applied(store, id, command, o.waitMs, g);
    print({ command, ...result });
  }, { create: false });
}

/** Wait for command `id` to be applied; its result, or a CommandFailure (failed: 1; not applied in time: 2). */
async function applied(store: Store, id: number, command: string, waitMs: number, g: Globals): Promise<Record<string, unknown>> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const c = await store.commands.get(id);
    if (c !== undefined && c.status === "failed") throw new CommandFailure(`${command} failed: ${String(c.result?.error)}`, 1);
    if (c !== undefined && c.status === "applied") return c.result ?? {};
    if (Date.now() > deadline) {
      throw new CommandFailure(`${command} was queued (command ${id}) but not applied within ${waitMs} ms: is the application running migration "${g.migration}" with migration.serve() (or a fleet node)?`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * When the store already shows what `command` asks for: the message to
 * print for a no-op (exit 0), else null. An unknown migration is an error
 * listing the ones the store has.
 */
async function alreadyThere(store: Store, migrationId: string, command: string): Promise<string | null> {
  const m = await readMigration(store, migrationId);
  if (m.migration === null && m.rollout === null) throw new CommandFailure(await unknownMigration(store, migrationId), 1);
  const state = m.rollout?.state;
  const done: Record<string, readonly (string | undefined)[]> = {
    pause: ["paused"],
    resume: ["active"],
    promote: ["promoted"],
    abort: ["rollingBack", "rolledBack"],
    rollback: ["rollingBack", "rolledBack"],
    // Never an emergency: its share 0 is written whatever the machine says (a share set by hand since, a stale read).
  };
  if (!(done[command] ?? []).includes(state)) return null;
  return `nothing to do: rollout "${migrationId}" is already ${m.rollout!.detail} (V2 share ${pct(m.rollout!.shareBp)})`;
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

registerStatus(program);

const flags = program.command("flags").description("Read or set the flags.");
flags.command("get").argument("[name]", `one of ${FLAG_NAMES.join(", ")}`).description("Print the flags (or one) with where each value comes from.")
  .option("--json", "print them as JSON: [{ flag, value, source, stored }]")
  .action((name: string | undefined, o: { json?: boolean }) =>
    withStore(program, async (store) => {
      if (name !== undefined && !FLAG_NAMES.includes(name as FlagName)) throw new CommandFailure(`flags get: no flag ${JSON.stringify(name)}; the flags are ${FLAG_NAMES.join(", ")}`);
      const f = await createFlags({ store });
      try {
        const rows = (name === undefined ? FLAG_NAMES : [name as FlagName]).map((n) => f.explain(n));
        if (o.json) return printJson(rows.map((r) => ({ flag: r.flag, value: r.value, source: r.source, stored: r.stored ?? null })));
        const t = table({ head: ["flag", "value", "source", "stored"] });
        for (const r of rows) t.push([r.flag, String(r.value), r.source, r.stored === undefined ? "—" : String(r.stored)]);
        console.log(t.toString());
      } finally {
        await f.close();
      }
    }, { create: false })
  );
flags.command("set").argument("<name>", "the flag").argument("<value>", "true/false, or basis points (2500) or a percentage (25%) for pool_v2_share")
  .addOption(byOption()).option("--reason <why>", "why")
  .option("--force", "pool_v2_share while a rollout steers it: pause the rollout first (recorded, with the reason), then set it")
  .addOption(wait())
  .description("Validate and store a flag; every running holder of the store sees it. The share a rollout steers is refused without --force.")
  .action((name: string, text: string, o: { by?: string; reason?: string; force?: boolean; waitMs: number }) =>
    withStore(program, async (store, g) => {
      if (!FLAG_NAMES.includes(name as FlagName)) throw new CommandFailure(`flags set: no flag ${JSON.stringify(name)}; the flags are ${FLAG_NAMES.join(", ")}`);
      const value = name === "pool_v2_share"
        ? (text.endsWith("%") ? Math.round(Number(text.slice(0, -1)) * 100) : Number(text))
        : text === "true" ? true : text === "false" ? false : text;
      const definition = DEFINITIONS[name as FlagName];
      // The value first: a bad one is refused before a rollout is paused for it.
      if (!definition.is(value)) throw new CommandFailure(`flags set: flag ${name} must be ${definition.allowed}, received ${JSON.stringify(text)}`);
      const by = o.by ?? defaultOperator();
      if (name === "pool_v2_share") await takeShareFromRollout(store, g, { value: Number(value), by, reason: o.reason, force: o.force === true, waitMs: o.waitMs });
      const f = await createFlags({ store, env: {} });
      try {
        const e = await f.set(name as FlagName, value as never, { by, reason: o.reason });
        console.log(`${name} = ${String(e.stored)} (effective here: ${String(e.value)} from ${e.source})`);
      } finally {
        await f.close();
      }
    }, { create: true })
  );

/**
 * A share set by hand while a rollout steers it would be put back at the
 * rollout's next decision: refused, unless `force`, which pauses the
 * rollout first (a paused rollout leaves the share to the operator) with
 * the reason recorded.
 */
async function takeShareFromRollout(store: Store, g: Globals, o: { value: number; by: string; reason: string | undefined; force: boolean; waitMs: number }): Promise<void> {
  const m = await readMigration(store, g.migration);
  const r = m.rollout;
  if (r === null || !STEERING.includes(r.state) || r.state === "paused") return;
  if (!o.force) {
    throw new CommandFailure(`pool_v2_share is steered by rollout "${g.migration}" (${r.detail}, V2 share ${pct(r.shareBp)}): a share set by hand would be put back at its next decision. Steer the rollout instead (molt rollout pause | promote | abort), or give --force to pause it and set the share.`, 1);
  }
  const why = `pool_v2_share set by hand to ${pct(o.value)} by ${o.by}${o.reason === undefined ? "" : `: ${o.reason}`}`;
  const id = await store.commands.enqueue({ target: g.migration, command: "pause", args: { reason: why }, requestedBy: o.by });
  await applied(store, id, "pause", o.waitMs, g);
  console.log(`rollout "${g.migration}" paused (${why}); resume it to hand the share back to the rollout`);
}

const rollout = program.command("rollout").description("Steer the rollout of the running migration.");
for (const [name, description] of [
  ["start", "Start the migration (or retry it after a rollback and its cool-down)."],
  ["pause", "Pause the rollout: time in the stage stops counting, and the share is left as it is."],
  ["resume", "Resume a paused rollout."],
  ["abort", "Roll back and stop the rollout."],
] as const) {
  rollout.command(name).description(description).option("--reason <why>", "recorded with the decision").addOption(byOption()).addOption(wait())
    .action((o: { reason?: string; by?: string; waitMs: number }) => send(name, o.reason === undefined ? {} : { reason: o.reason }, o));
}
rollout.command("promote").description("Move to the next stage now (from shadow: the first stage; from the last: 100%). --full: skip every remaining stage.")
  .option("--full", "V2 takes 100% at once").option("--reason <why>", "recorded with the decision").addOption(byOption()).addOption(wait())
  .action((o: { full?: boolean; reason?: string; by?: string; waitMs: number }) =>
    send(o.full ? "promote" : "promote_stage", o.reason === undefined ? {} : { reason: o.reason }, o)
  );

program.command("rollback").description("Roll back to V1. --emergency flips the share to 0 in memory before anything else.")
  .option("--emergency", "in-memory flip first, persisted after").option("--reason <why>", "recorded with the decision").addOption(byOption()).addOption(wait())
  .action((o: { emergency?: boolean; reason?: string; by?: string; waitMs: number }) =>
    send(o.emergency ? "emergency_rollback" : "rollback", o.reason === undefined ? {} : { reason: o.reason }, o)
  );

program.command("decommission").description("Archive and stop V1, once V2 has held 100% long enough with no V1 call and is healthy.").addOption(byOption()).addOption(wait())
  .option("--dry-run", "show the checks, the archive and the clean-up, and change nothing (exit 1 when it would be refused)")
  .action((o: { waitMs: number; by?: string; dryRun?: boolean }) => o.dryRun ? send("decommission_plan", {}, o, printPlan) : send("decommission", {}, o));

const backup = program.command("backup").description("List, show or restore the store's backups.");
backup.command("list").description("Every backup, newest first: id, when, why, file.")
  .option("--json", "print them as JSON: [{ id, createdAt, reason, file }]")
  .action((o: { json?: boolean }) =>
    withStore(program, async (store) => {
      const list = await store.backups.list();
      if (o.json) return printJson(list.map((b) => ({ id: b.id, createdAt: b.createdAt, reason: b.reason, file: b.file })));
      const t = table({ head: ["id", "taken", "reason", "file"] });
      for (const b of list) t.push([b.id, new Date(b.createdAt).toISOString(), b.reason || "—", b.file ?? "—"]);
      console.log(t.toString());
    }, { create: false })
  );
backup.command("show").argument("<id>", "the backup").option("--json", "the whole backup as JSON")
  .description("What a backup holds: its flags, programs, pool configurations and machines.")
  .action((id: string, o: { json?: boolean }) =>
    withStore(program, async (store) => {
      const b = await backupById(store, id);
      if (o.json === true) return console.log(JSON.stringify(b, null, 2));
      const d = b.document;
      console.log(`${b.id}, taken ${new Date(b.createdAt).toISOString()} (${b.reason || "no reason given"}), schema ${d.schemaVersion ?? "unknown"}${b.file === null ? "" : `, file ${b.file}`}`);
      const t = table({ head: ["holds", "what"] });
      t.push(["flags (stored)", d.flags.map((f) => `${f.key} = ${JSON.stringify(f.value)}`).join("\n") || "none"]);
      if (d.effectiveFlags !== undefined) t.push(["flags (as the migration saw them)", d.effectiveFlags.map((f) => `${f.flag} = ${JSON.stringify(f.value)} from ${f.source}`).join("\n")]);
      t.push(["programs", d.programs.map((p) => `${p.id} (${p.contentHash.slice(0, 12)})`).join("\n") || "none"]);
      t.push(["pool configurations", d.poolConfigurations.map((c) => `${c.name} v${c.version}${c.active ? " (active)" : ""}`).join("\n") || "none"]);
      t.push(["machines", (d.machines ?? []).map((m) => `${m.actorId} at entry ${m.journalSeq}, ${m.snapshots.length} snapshot(s)`).join("\n") || "none"]);
      t.push(["nodes", String((d.nodes ?? []).length)]);
      console.log(t.toString());
    }, { create: false })
  );
backup.command("restore").argument("[id]", "the backup in the store (or --file)")
  .option("--file <path>", "restore a backup file instead (into this store, even a fresh one)")
  .option("--force", "restore even while a rollout is active").addOption(byOption()).option("--reason <why>", "why")
  .description("Put flags, programs, pool configurations and machines back as the backup holds them, in one transaction.")
  .action((id: string | undefined, o: { file?: string; force?: boolean; by?: string; reason?: string }) =>
    withStore(program, async (store, g) => {
      if ((id === undefined) === (o.file === undefined)) throw new CommandFailure("backup restore: give a backup id or --file, not both");
      const source = o.file === undefined ? id! : await readBackupFile(o.file);
      const r = await restoreBackup(store, source, { by: o.by ?? defaultOperator(), force: o.force === true, migrationId: g.migration, ...(o.reason === undefined ? {} : { reason: o.reason }) });
      const rewound = r.machines.filter((m) => m.droppedEntries > 0 || m.forgotten).map((m) => m.forgotten ? `${m.actorId} forgotten` : `${m.actorId} back to entry ${m.journalSeq}`);
      console.log(`restored ${r.backupId}: flags changed: ${r.flagsChanged.join(", ") || "none"}; ${r.programs} program(s), ${r.poolConfigurations} pool configuration(s); machines: ${rewound.join(", ") || "unchanged"}`);
    }, { create: o.file !== undefined })
  );

program.command("report").description("Write the migration report: phases, timeline, stages, incidents, customer impact, V1 against V2, lessons, success criteria, artifacts.")
  .option("--out <file>", "write it to a file instead of stdout")
  .addOption(new Option("--format <format>", "md (markdown), json (the record), or html (one page with charts and the machines)").choices(["md", "json", "html"]).default("md"))
  .option("--postmortem", "write the post-mortem's draft instead (md or json): timeline, impact, detection time, time to mitigate, decisions, evidence, lessons")
  .action((o: { out?: string; format: ReportFormat; postmortem?: boolean }) =>
    withStore(program, async (store, g) => {
      if (o.postmortem && o.format === "html") throw new CommandFailure("report: --postmortem writes --format md or json, received html");
      const m = await readMigration(store, g.migration);
      if (m.migration === null && m.rollout === null) throw new CommandFailure(await unknownMigration(store, g.migration), 1);
      const text = o.postmortem ? await postmortemReport(store, g.migration, { format: o.format as "md" | "json" }) : await migrationReport(store, g.migration, { format: o.format });
      if (o.out === undefined) console.log(text);
      else (writeFileSync(o.out, text), console.log(`wrote ${o.out}`));
    }, { create: false })
  );

program.command("python-path").description("Print the directory of molt's Python runtime: put it on PYTHONPATH (or in your editor's extra paths) to import molt in a handler's own tests.")
  .action(async () => console.log(await pythonPackageDir()));

registerInspect(program);

program.command("validate").argument("[what]", "equivalence, load, faults or all", "all")
  .description("Run the validation suite on fresh V1 and V2 pools, store the results, and print them (markdown, or --json). Exit 0: every check passed; 1: one failed; 3: one had insufficient evidence; 2: usage.")
  .requiredOption("--v1-handler <path>", "V1's handler (module or .py file)")
  .requiredOption("--v2-handler <path>", "V2's handler")
  .option("--v1-python <path>", "V1's interpreter", "python3").option("--v2-python <path>", "V2's interpreter", "python3")
  .option("--size <n>", "workers per pool", countArg(), 2).option("--users <n>", "concurrent callers", countArg(), 8)
  .option("--duration-ms <ms>", "load run time, and time under each fault", durationArg(), 6000)
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
    return withStore(program, async (store, g) => {
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
    }, { create: true });
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

registerDashboard(program);
registerIncident(program);
registerTrain(program);
registerCompletion(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander printed the message (or the help) already.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else if (e instanceof CommandFailure) {
    console.error(`error: ${e.message}`);
    process.exitCode = e.exitCode;
  } else {
    console.error(describeError(e));
    process.exitCode = 1;
  }
}
