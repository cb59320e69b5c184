/** The migration machine: phases in order, a failure from any phase rolls back, a retry starts again. */
import { expect, test } from "bun:test";
import { createActor } from "xstate";
import { MIGRATION_PHASES, migrationMachine } from "../../machines/mod.ts";

test("phases run in order; another phase's success is ignored; a failure from any phase rolls back; retry starts over", () => {
  for (const failing of MIGRATION_PHASES) {
    const actor = createActor(migrationMachine, { input: { migrationId: "m" } }).start();
    actor.send({ type: "migration.started", now: 0 });
    for (const phase of MIGRATION_PHASES) {
      expect(actor.getSnapshot().value).toBe(phase);
      const other = MIGRATION_PHASES.find((p) => p !== phase)!;
      actor.send({ type: "phase.succeeded", phase: other, now: 1 });
      actor.send({ type: "phase.failed", phase: other, now: 1, reason: "not this phase" });
      expect(actor.getSnapshot().value).toBe(phase);
      if (phase === failing) {
        actor.send({ type: "phase.failed", phase, now: 2, reason: `${phase} broke` });
        break;
      }
      actor.send({ type: "phase.succeeded", phase, now: 3 });
    }
    expect(actor.getSnapshot().value).toBe("rollingBack");
    expect(actor.getSnapshot().context).toMatchObject({ failedPhase: failing, reason: `${failing} broke` });
    actor.send({ type: "rollback.completed", now: 4 });
    actor.send({ type: "migration.retried", now: 5 });
    expect(actor.getSnapshot().value).toBe("preflight");
  }
});

test("a migration whose every phase succeeds is complete", () => {
  const actor = createActor(migrationMachine, { input: { migrationId: "m" } }).start();
  actor.send({ type: "migration.started", now: 0 });
  for (const phase of MIGRATION_PHASES) actor.send({ type: "phase.succeeded", phase, now: 1 });
  expect(actor.getSnapshot().status).toBe("done");
});
