/**
 * The process an exercise runs in (`molt train serve`, started by
 * `molt train <exercise>`): V1 and V2 pools of real Python workers
 * (src/python/training_handler.py), traffic, and the migration serving the
 * trainee's commands — or one fleet node of the exercise's fleet. It runs
 * until SIGTERM or SIGINT (`molt train stop`) or its timeout, then stops
 * every worker it started.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { createFlags, type Flags } from "../flags/flags.ts";
import { createFleetNode } from "../fleet/node.ts";
import { createMigration } from "../migration/migration.ts";
import { createPool } from "../pool/pool.ts";
import type { Pool } from "../pool/types.ts";
import { createRouter, type Router } from "../routing/router.ts";
import { openStore, type Store } from "../store/store.ts";
import { type Exercise, trainingMigrationId } from "./exercise.ts";

const HANDLER = fileURLToPath(new URL("../python/training_handler.py", import.meta.url));
/** A stage lasts an hour: in an exercise only the trainee moves the rollout on. */
const STAGE_MS = 3_600_000;

/** What runs until `stop`. */
interface Running {
  stop(): Promise<void>;
}

/** Two clients calling `work` through the router every 50 ms until `stop()`, failures ignored (the record counts them). */
function traffic(router: Router): { stop(): Promise<void> } {
  let running = true;
  const clients = [0, 1].map(async (client) => {
    for (let i = 0; running; i++) {
      await router.execute("work", { i }, { sessionId: `user-${(i * 2 + client) % 100}` }).catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(clients);
    },
  };
}

function pools(exercise: Exercise): [Promise<Pool>, Parameters<typeof createPool>[0]] {
  // Slices of a second: the record gets a window of calls every second, so a check sees a change within two.
  const common = { handler: HANDLER, size: 1, heartbeatMs: 0, windowMs: 10_000, windowSlices: 10, onStderr: () => {} };
  const fault: Record<string, string> = exercise.scenario.v2Fault === undefined ? {} : { MOLT_TRAINING_FAULT: exercise.scenario.v2Fault };
  return [createPool({ name: "v1", strategy: "basic", ...common, env: { MOLT_ARM: "v1" } }), { name: "v2", ...common, env: { MOLT_ARM: "v2", ...fault } }];
}

function rolloutSettings(exercise: Exercise) {
  const s = exercise.scenario;
  return {
    plan: { shadowMs: s.shadowMs, stages: s.stagesBp.map((weightBp) => ({ weightBp, minDurationMs: STAGE_MS, minSamples: 20 })) },
    thresholds: { minCalls: s.minCalls, criticalMinCalls: s.minCalls },
  };
}

async function serveMigration(exercise: Exercise, store: Store, flags: Flags): Promise<Running> {
  const [v1Pool, v2] = pools(exercise);
  const v1 = await v1Pool;
  const migration = await createMigration({
    migrationId: trainingMigrationId(exercise.name), v1, v2, flags, store, recordWindowMs: 1000, verify: { calls: 5 },
    router: { shadow: { sampleRate: 1, commands: ["work"] } },
    rollout: rolloutSettings(exercise),
  });
  await migration.run();
  const load = traffic(migration.router!);
  if (exercise.scenario.after === "rollback-and-stop") {
    await migration.rollback("the exercise's V2 was rolled back before the trainee came", { by: "molt train" });
    await load.stop();
    await migration.stop({ stopV2: true });
    await v1.stop();
    return { stop: async () => {} };
  }
  migration.serve({ pollMs: 100 });
  const ticking = exercise.scenario.tick ? setInterval(() => void migration.tick().catch(() => {}), 500) : null;
  return {
    stop: async () => {
      if (ticking !== null) clearInterval(ticking);
      await load.stop();
      await migration.stop({ stopV2: true });
      await v1.stop();
    },
  };
}

async function serveFleetNode(exercise: Exercise, store: Store, flags: Flags, nodeId: string): Promise<Running> {
  const [v1Pool, v2Options] = pools(exercise);
  const [v1, v2] = await Promise.all([v1Pool, createPool(v2Options)]);
  const router = createRouter({ v1, v2, flags, store, rolloutId: trainingMigrationId(exercise.name) });
  const node = await createFleetNode({
    store, flags, v1, v2, router, nodeId, rolloutId: trainingMigrationId(exercise.name),
    heartbeatMs: 200, leaseMs: 1500, windowMs: 1000, commandPollMs: 100, autoStart: true, ...rolloutSettings(exercise),
  });
  const load = traffic(router);
  return {
    stop: async () => {
      await load.stop();
      await node.stop();
      await router.close();
      await Promise.all([v1.stop(), v2.stop()]);
    },
  };
}

/**
 * Run `exercise`'s scenario on the store at `url` (as fleet node `nodeId`
 * for a fleet); `ready` is called once it serves. Resolves after SIGTERM,
 * SIGINT or `timeoutMs`, once every worker has stopped.
 */
export async function serveExercise(exercise: Exercise, url: string, o: { nodeId?: string; timeoutMs: number; ready: () => void }): Promise<void> {
  const store = await openStore(url);
  const flags = await createFlags({ store, env: {}, pollMs: 100 });
  let running: Running | null = null;
  try {
    running = exercise.scenario.kind === "fleet" ? await serveFleetNode(exercise, store, flags, o.nodeId ?? "node-1") : await serveMigration(exercise, store, flags);
    // A fleet's second node finds the exercise prepared already.
    if (o.nodeId === undefined || o.nodeId === "node-1") await exercise.prepare?.(store, flags);
    o.ready();
    if (exercise.scenario.after !== "rollback-and-stop") {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(stop, o.timeoutMs);
        function stop(): void {
          clearTimeout(timer);
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        }
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    }
  } finally {
    await running?.stop();
    await flags.close();
    await store.close();
  }
}
