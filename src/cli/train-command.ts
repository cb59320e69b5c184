/**
 * `molt train`: hands-on exercises on local pools and a local store
 * (docs/training/). `molt train <exercise>` starts the processes serving
 * the exercise in the background and says what the trainee faces;
 * `molt train check <exercise>` judges the store's record and records a
 * pass (a validation of kind "training", which `molt report` counts for
 * "team trained"); `molt train stop` ends the exercise's processes.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { readMigration } from "../migration/inspect.ts";
import { openStore, type Store } from "../store/store.ts";
import { readTrainingRecord, setupOf, trainingMigrationId, type Exercise } from "../training/exercise.ts";
import { EXERCISES, exerciseNamed } from "../training/exercises.ts";
import { serveExercise } from "../training/serve.ts";
import { CommandFailure, defaultOperator } from "./context.ts";
import { durationArg } from "./options.ts";
import { isRunning } from "../process/proc-stat.ts";

interface TrainFlags {
  by?: string;
  recordIn?: string;
  for?: string;
  fresh?: boolean;
  timeoutMs: number;
  node?: string;
}

/** How long the processes of an exercise serve unless stopped: 30 minutes. */
const DEFAULT_TIMEOUT_MS = 1_800_000;

/**
 * Add `molt train` to the molt program (which holds the global `--store`
 * option; without it an exercise runs in `sqlite:./.molt/training/<exercise>.db`).
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerTrain } from "./train-command.ts";
 * const program = new Command("molt").option("--store <url>").option("--migration <id>");
 * registerTrain(program);
 * console.log(program.commands.map((c) => c.name())); // [ "train" ]
 * ```
 */
export function registerTrain(program: Command): void {
  const names = EXERCISES.map((e) => e.name).join(", ");
  program.command("train")
    .description(`Hands-on exercises on local pools (docs/training/). train list | train <exercise> | train check <exercise> [--by who] | train stop [exercise]. Exercises: ${names}.`)
    .argument("<what>", `list, check, stop, or an exercise (${names})`)
    .argument("[exercise]", "the exercise to check or stop")
    .option("--by <who>", "check: who is checked and credited with the pass (default: the OS user)")
    .option("--record-in <store>", "check: also record the pass in the team's store (SQLite path or PostgreSQL URL), where molt report counts it for the migration named by --for")
    .option("--for <migration>", "check, with --record-in: the migration whose report counts the pass")
    .option("--fresh", "set up again in a fresh store: deletes the exercise's SQLite file first")
    .addOption(new Option("--timeout-ms <ms>", "how long the exercise's processes serve unless stopped").argParser(durationArg()).default(DEFAULT_TIMEOUT_MS))
    .addOption(new Option("--node <id>", "serve: the fleet node to run").hideHelp())
    .action(async (what: string, name: string | undefined, flags: TrainFlags, command: Command) => {
      const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: 2 });
      const exercise = (n: string | undefined, verb: string): Exercise => {
        if (n === undefined) return usage(`train ${verb}: name the exercise: one of ${names}`);
        return exerciseNamed(n) ?? usage(`train ${verb}: no exercise ${JSON.stringify(n)}; the exercises are ${names}`);
      };
      const storeOf = (e: Exercise): string => program.getOptionValueSource("store") === "default" ? `sqlite:${resolve(".molt", "training", `${e.name}.db`)}` : program.opts<{ store: string }>().store;
      if (what === "list") return list();
      if (what === "check") {
        const e = exercise(name, "check");
        if ((flags.recordIn === undefined) !== (flags.for === undefined)) usage(`train check: --record-in and --for go together, received ${flags.recordIn === undefined ? "--for alone" : "--record-in alone"}`);
        const team = flags.recordIn === undefined ? undefined : { url: flags.recordIn, migrationId: flags.for! };
        return check(e, storeOf(e), flags.by ?? defaultOperator(), team);
      }
      if (what === "stop") {
        const chosen = name === undefined ? EXERCISES : [exercise(name, "stop")];
        for (const e of chosen) await stop(e, storeOf(e), name !== undefined || program.getOptionValueSource("store") !== "default");
        return;
      }
      if (what === "serve") {
        const e = exercise(name, "serve");
        return serveExercise(e, storeOf(e), { timeoutMs: flags.timeoutMs, ...(flags.node === undefined ? {} : { nodeId: flags.node }), ready: () => console.log("ready") });
      }
      if (name !== undefined) usage(`train: expected list, check <exercise>, stop [exercise] or <exercise>, received ${JSON.stringify(`${what} ${name}`)}`);
      const e = exercise(what, "");
      return setUp(e, storeOf(e), flags);
    });
}

function list(): void {
  for (const e of EXERCISES) console.log(`${e.name.padEnd(14)} ${e.summary}`);
}

/** The SQLite file of a store URL, or null for PostgreSQL. */
const sqliteFile = (url: string): string | null => url.startsWith("postgres") ? null : url.replace(/^sqlite:/, "");

async function openExisting(e: Exercise, url: string): Promise<Store> {
  try {
    return await openStore(url, { create: false });
  } catch {
    throw new CommandFailure(`exercise ${e.name} was never set up in ${url}: run molt train ${e.name} first`, 1);
  }
}

async function setUp(e: Exercise, url: string, flags: TrainFlags): Promise<void> {
  const file = sqliteFile(url);
  if (flags.fresh === true) {
    if (file === null) throw new CommandFailure("train --fresh deletes a SQLite file; for PostgreSQL give a fresh schema (?schema=...) instead");
    await stop(e, url, false);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
  }
  if (file !== null) mkdirSync(dirname(resolve(file)), { recursive: true });
  const migrationId = trainingMigrationId(e.name);
  const store = await openStore(url);
  try {
    const before = await setupOf(store, migrationId);
    if (before !== undefined) {
      throw new CommandFailure(`exercise ${e.name} was set up in ${url} already (${new Date(before.at).toISOString()}): run it again with --fresh${file === null ? " (SQLite only) or another --store" : ` (deletes ${file})`}`, 1);
    }
    const log = join(file === null ? resolve(".molt", "training") : dirname(resolve(file)), `${e.name}.log`);
    mkdirSync(dirname(log), { recursive: true });
    const nodes = e.scenario.kind === "fleet" ? ["node-1", "node-2"] : [undefined];
    const pids: number[] = [];
    try {
      for (const node of nodes) {
        const pid = await startServer(e, url, flags.timeoutMs, node, log);
        if (e.scenario.after === undefined) pids.push(pid);
        // node-2 joins once node-1 leads, so that the exercise starts with a known leader.
        if (node === "node-1" && !(await leads(store, migrationId, node))) throw new CommandFailure(`node-1 did not take the lease within 30 s (see ${log})`, 1);
      }
    } catch (error) {
      // A setup that fails leaves nothing running.
      await end(pids);
      throw error;
    }
    const lease = e.scenario.kind === "fleet" ? await store.leases.get(`rollout:${migrationId}`) : null;
    const m = await readMigration(store, migrationId);
    const state = m.rollout?.detail ?? "";
    const share = m.rollout?.shareBp ?? 0;
    await store.decisions.record({
      rolloutId: migrationId, at: Date.now(), kind: "training.setup", stateFrom: state, stateTo: state, shareFrom: share, shareTo: share,
      reason: `molt train ${e.name}: ${e.title}`,
      inputs: { exercise: e.name, pids, host: hostname(), timeoutMs: flags.timeoutMs, log, ...(lease === null ? {} : { leader: lease.holder, term: lease.term }) },
    });
    brief(e, url, migrationId, pids.length > 0 ? flags.timeoutMs : null);
  } finally {
    await store.close();
  }
}

/** Wait (at most 30 s) until `node` holds the rollout's lease. */
async function leads(store: Store, migrationId: string, node: string): Promise<boolean> {
  for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    if ((await store.leases.get(`rollout:${migrationId}`))?.holder === node) return true;
  }
  return false;
}

/**
 * Start `molt train serve` in its own process group, its output in `log`;
 * resolves with its pid once it says "ready" (or the setup has finished, for
 * a scenario that leaves nothing running), rejects when it exits first.
 */
function startServer(e: Exercise, url: string, timeoutMs: number, node: string | undefined, log: string): Promise<number> {
  const args = [...process.execArgv, process.argv[1]!, "--store", url, "train", "serve", e.name, "--timeout-ms", String(timeoutMs), ...(node === undefined ? [] : ["--node", node])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", "pipe", openSync(log, "a")] });
  return new Promise((resolveReady, reject) => {
    let out = "";
    const timer = setTimeout(() => (child.kill("SIGTERM"), reject(new CommandFailure(`exercise ${e.name} did not start within 60 s (see ${log})`, 1))), 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes("ready\n")) return;
      clearTimeout(timer);
      child.stdout!.destroy();
      child.unref();
      resolveReady(child.pid!);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (out.includes("ready\n")) return;
      reject(new CommandFailure(`exercise ${e.name} failed to start (exit ${code}): ${readFileSync(log, "utf8").trim().split("\n").slice(-5).join("\n")}`, 1));
    });
  });
}

function brief(e: Exercise, url: string, migrationId: string, timeoutMs: number | null): void {
  console.log(`exercise ${e.name}: ${e.title}`);
  console.log(timeoutMs === null ? `store ${url}; nothing keeps running.` : `store ${url}; its processes run for ${Math.round(timeoutMs / 60_000)} min unless stopped (molt train stop ${e.name}).`);
  console.log(`\n${e.briefing}\n`);
  console.log("Point your molt commands at it:");
  console.log(`  export MOLT_STORE=${url} MOLT_MIGRATION=${migrationId}`);
  console.log(`When done: molt train check ${e.name} --by <you>; then molt train stop ${e.name}. Instructions: docs/training/${e.name}.md`);
}

async function check(e: Exercise, url: string, who: string, team?: { url: string; migrationId: string }): Promise<void> {
  const migrationId = trainingMigrationId(e.name);
  const store = await openExisting(e, url);
  let pass: TrainingPass;
  try {
    const setup = await setupOf(store, migrationId);
    if (setup === undefined) throw new CommandFailure(`exercise ${e.name} was never set up in ${url}: run molt train ${e.name} first`, 1);
    const results = await e.criteria(await readTrainingRecord(store, migrationId, setup, who));
    for (const c of results) console.log(c.passed ? `passed  ${c.criterion}` : `missed  ${c.criterion}: ${c.missed}`);
    const missed = results.filter((c) => !c.passed).length;
    if (missed > 0) throw new CommandFailure(`exercise ${e.name}: ${missed} of ${results.length} criteria missed`, 1);
    const earlier = (await store.validations.list(migrationId)).find((v) => v.kind === "training" && v.report.by === who && v.at >= setup.at);
    if (earlier !== undefined) {
      pass = earlier.report as unknown as TrainingPass;
      console.log(`exercise ${e.name} passed: already recorded for ${who} at ${new Date(earlier.at).toISOString()}`);
    } else {
      pass = { kind: "training", exercise: e.name, title: e.title, by: who, passedAt: Date.now(), criteria: results.map((c) => c.criterion) };
      await recordPass(store, migrationId, pass);
      console.log(`exercise ${e.name} passed: recorded for ${who} at ${new Date(pass.passedAt).toISOString()} (molt report counts it under "team trained")`);
    }
  } finally {
    await store.close();
  }
  if (team !== undefined) await recordInTeamStore(team, pass);
}

/** A pass as recorded: a validation of kind "training" whose report is this. */
interface TrainingPass {
  readonly kind: "training";
  readonly exercise: string;
  readonly title: string;
  readonly by: string;
  readonly passedAt: number;
  readonly criteria: readonly string[];
}

const recordPass = (store: Store, target: string, pass: TrainingPass): Promise<void> =>
  store.validations.record({ target, kind: "training", verdict: "pass", report: { ...pass } });

/** The same pass in the team's own store, against the migration whose report counts it; once per person, exercise and pass. */
async function recordInTeamStore(team: { url: string; migrationId: string }, pass: TrainingPass): Promise<void> {
  const store = await openStore(team.url, { create: false }).catch((e: unknown) => {
    throw new CommandFailure(`train check --record-in: cannot open the store ${JSON.stringify(team.url)}: ${e instanceof Error ? e.message : String(e)}`, 1);
  });
  try {
    const m = await readMigration(store, team.migrationId);
    if (m.migration === null && m.rollout === null) throw new CommandFailure(`train check --for: the store ${team.url} has no migration ${JSON.stringify(team.migrationId)}`, 1);
    const same = (await store.validations.list(team.migrationId)).some((v) => v.kind === "training" && v.report.by === pass.by && v.report.exercise === pass.exercise && v.report.passedAt === pass.passedAt);
    if (!same) await recordPass(store, team.migrationId, pass);
    console.log(`${same ? "already recorded" : "recorded"} in ${team.url} for migration ${team.migrationId}: its report counts it under "team trained"`);
  } finally {
    await store.close();
  }
}

/**
 * SIGTERM the processes `molt train <exercise>` started in this store that
 * still run (each checked against the node it registered: same pid, this
 * host), and wait for them to end; SIGKILL after 20 s. `loud`: say so when
 * there is nothing to stop.
 */
async function stop(e: Exercise, url: string, loud: boolean): Promise<void> {
  const file = sqliteFile(url);
  let store: Store;
  try {
    store = await openStore(url, { create: false });
  } catch {
    if (loud) console.log(`exercise ${e.name}: nothing to stop (no store at ${file ?? url})`);
    return;
  }
  try {
    const migrationId = trainingMigrationId(e.name);
    const setup = await setupOf(store, migrationId);
    const registered = new Set((await store.nodes.list(migrationId)).filter((n) => n.host === hostname()).map((n) => n.pid));
    const pids = ((setup?.inputs as { pids?: number[] } | undefined)?.pids ?? []).filter((pid) => registered.has(pid) && isRunning(pid));
    if (pids.length === 0) {
      if (loud || setup !== undefined) console.log(`exercise ${e.name}: nothing runs`);
      return;
    }
    await end(pids);
    console.log(`exercise ${e.name}: stopped process(es) ${pids.join(", ")}`);
  } finally {
    await store.close();
  }
}

/** SIGTERM `pids` and wait for them to end; SIGKILL what still runs after 20 s. */
async function end(pids: readonly number[]): Promise<void> {
  for (const pid of pids.filter(isRunning)) process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 20_000;
  while (pids.some(isRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(isRunning)) process.kill(pid, "SIGKILL");
}

