/**
 * Exercise "restore": after a rolled-back migration someone turned flags
 * off and a later backup holds the damage. The trainee finds the backup
 * taken before the migration and restores it, with who and why.
 *
 * @module
 */
import type { Flags } from "../flags/flags.ts";
import type { Store } from "../store/store.ts";
import type { Decision } from "../store/tables/decisions.ts";
import { criterion, type Exercise, trainingMigrationId } from "./exercise.ts";

const BEFORE = `before migration ${trainingMigrationId("restore")}`;

/** The "restore" exercise. */
export const restore: Exercise = {
  name: "restore",
  title: "Restore a backup",
  summary: "flags were changed by hand after a rollback: restore the backup taken before the migration",
  scenario: { kind: "migration", shadowMs: 0, stagesBp: [500, 2500, 5000], minCalls: 1_000_000, tick: false, after: "rollback-and-stop" },
  briefing: [
    "The migration's V2 was rolled back. Since then someone turned the circuit breaker and the pool",
    "optimizer off by hand (molt flags get shows it), and a nightly backup was taken after that.",
    "Nothing serves this migration now.",
    "",
    "Put the store back as it was before the migration: find the backup taken before it",
    "(molt backup list, molt backup show <id>) and restore it, with a reason, under your name.",
  ].join("\n"),
  async prepare(store: Store, flags: Flags) {
    await flags.set("circuit_breaker", false, { by: "intern", reason: "trying things" });
    await flags.set("pool_optimizer", false, { by: "intern", reason: "trying things" });
    await store.backups.write(await store.backups.collect(), { reason: "nightly" });
  },
  async criteria(r) {
    const backups = await r.store.backups.list();
    const reasonOf = (d: Decision): string | undefined => backups.find((b) => b.id === (d.inputs as { backupId?: string }).backupId)?.reason;
    // The right backup restored last counts, whatever was restored before it.
    const all = r.decisions.filter((d) => d.kind === "backup.restored");
    const restored = all.filter((d) => reasonOf(d) === BEFORE).at(-1) ?? all.at(-1);
    const inputs = (restored?.inputs ?? {}) as { backupId?: string; by?: string; reason?: string };
    const backup = backups.find((b) => b.id === inputs.backupId);
    const none = `no backup was restored for migration ${r.migrationId} after the setup: run molt backup restore <id> --by ${r.who} --reason "..."`;
    const flags = await Promise.all(["circuit_breaker", "pool_optimizer"].map(async (f) => [f, (await r.store.flags.get(f))?.value] as const));
    // Not stored is the default: on.
    const off = flags.filter(([, v]) => v === false).map(([f]) => `${f} is false`);
    return [
      criterion("a backup restored", restored !== undefined, none),
      criterion(`the backup taken ${BEFORE}`, backup?.reason === BEFORE, restored === undefined ? none : `${inputs.backupId} was restored, taken "${backup?.reason ?? "?"}": the one to restore is the backup taken "${BEFORE}" (molt backup list)`),
      criterion("restored with a reason", restored !== undefined && inputs.reason !== undefined && inputs.reason !== "no reason given", restored === undefined ? none : 'the restore has no reason: give --reason "..."'),
      criterion(`restored by ${r.who}`, inputs.by === r.who, restored === undefined ? none : `it was restored by ${inputs.by}, not ${r.who}: give --by ${r.who}`),
      criterion("the circuit breaker and the pool optimizer are on again", off.length === 0, off.join(", ")),
    ];
  },
};
