// The demo's migration and traffic, shared by the demo (src/cli/demo.ts)
// and the dashboard's screenshots (scripts/dashboard-screenshots.ts): V1 to
// V2 of examples/summarizer.py on real Python workers, stages compressed to
// two seconds, eight synthetic clients over 500 sessions.
import { fileURLToPath } from "node:url";
import { createMigration, createPool, type Flags, type Migration, type Pool, type Store } from "../../mod.ts";

const SECOND = 1000;
const handler = fileURLToPath(new URL("../../examples/summarizer.py", import.meta.url));

/** V1 (basic, serving) and the migration to V2, id "demo"; `fault` makes V2 degrade during the rollout. */
export async function demoMigration(store: Store, flags: Flags, options: { fault: boolean; decommissionAfterMs?: number }): Promise<{ v1: Pool; migration: Migration }> {
  // Slices of a second, so that the report's charts get a window of calls every second.
  const common = { handler, size: 2, heartbeatMs: 1000, sampleEveryMs: 500, windowMs: 10_000, windowSlices: 10, onStderr: () => {} };
  const v1 = await createPool({ name: "v1", strategy: "basic", ...common, env: { MOLT_DEMO_VERSION: "v1" } });
  const migration = await createMigration({
    migrationId: "demo",
    v1,
    v2: { name: "v2", ...common, env: { MOLT_DEMO_VERSION: "v2", MOLT_DEMO_FAULT: options.fault ? "1" : "0" } },
    flags,
    store,
    router: { shadow: { sampleRate: 0.3, commands: ["summarize", "classify"] } },
    recordWindowMs: SECOND,
    rollout: {
      plan: {
        shadowMs: 2 * SECOND,
        stages: [500, 1000, 2500, 5000, 7500].map((weightBp) => ({ weightBp, minDurationMs: 2 * SECOND, minSamples: 20 })),
        failuresToRollback: 2,
        inconclusiveToPause: 6,
        cooldownMs: 5 * SECOND,
      },
      thresholds: { minCalls: 30, criticalMinCalls: 20 },
    },
    ...(options.decommissionAfterMs === undefined ? {} : { decommissionAfterMs: options.decommissionAfterMs }),
  });
  return { v1, migration };
}

/** Eight clients calling through the migration's router until `stop()`; counts what they sent and what failed. */
export function demoTraffic(migration: Migration): { readonly sent: () => number; readonly failed: () => number; stop(): Promise<void> } {
  const WORDS = "molt moves traffic from an old pool of python workers to a new one by canary and rolls back by itself".split(" ");
  let running = true;
  let sent = 0;
  let failed = 0;
  const clients = Array.from({ length: 8 }, async (_, client) => {
    for (let i = 0; running; i++) {
      const text = Array.from({ length: 6 + ((i * 7 + client) % 12) }, (_, j) => WORDS[(i + j * 3) % WORDS.length]).join(" ");
      const command = i % 4 === 0 ? "classify" : "summarize";
      sent++;
      await migration.router!.execute(command, { text: i % 9 === 0 ? `${text}?` : text }, { sessionId: `user-${(i * 8 + client) % 500}`, idempotent: true }).catch(() => failed++);
    }
  });
  return {
    sent: () => sent,
    failed: () => failed,
    stop: async () => {
      running = false;
      await Promise.all(clients);
    },
  };
}
