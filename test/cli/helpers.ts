/**
 * CLI test helpers: run molt's CLI as a child process against a store, and
 * a migration in its first stage that serves the CLI's commands.
 */
import { createFlags, createMigration, type Flags, type Migration, openStore, type Pool, type Store } from "../../mod.ts";
import { fixture, repoPath, spawnChild, tsCommand } from "../helpers.ts";
import { armPool } from "../routing/helpers.ts";

/** Run `molt --store <url> ...args`; its exit code and output, and how long it took. */
export async function cli(url: string, ...args: string[]): Promise<{ code: number; out: string; err: string; ms: number }> {
  const t = performance.now();
  const child = spawnChild(tsCommand(repoPath("src/cli/molt.ts"), "--store", url, ...args), { env: { ...process.env, MOLT_FLAG_POOL_V2_SHARE: "" } });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, out, err, ms: performance.now() - t };
}

/**
 * A migration in its first stage (5%) on the store at `url`, serving
 * commands unless `serve` is false; `migrationId` default "migration",
 * `cooldownMs` (before a rolled-back rollout may start again) the rollout's default.
 */
export async function running(url: string, serve = true, o: { migrationId?: string; cooldownMs?: number } = {}): Promise<{ store: Store; migration: Migration; v1: Pool; flags: Flags; share: () => number; stop: () => Promise<void> }> {
  const store = await openStore(url);
  const flags = await createFlags({ store, env: {}, pollMs: 50 });
  const v1 = await armPool("v1");
  const migration = await createMigration({
    v1, flags, store, ...(o.migrationId === undefined ? {} : { migrationId: o.migrationId }),
    v2: { name: "v2", handler: fixture("arm_handler.py"), size: 1, heartbeatMs: 0, sampleEveryMs: 0, onStderr: () => {}, env: { MOLT_ARM: "v2" } },
    rollout: { plan: { shadowMs: 0, ...(o.cooldownMs === undefined ? {} : { cooldownMs: o.cooldownMs }) }, thresholds: { minCalls: 5 } },
  });
  await migration.run();
  if (serve) migration.serve({ pollMs: 50 });
  return {
    store, migration, v1, flags, share: () => flags.share(),
    stop: async () => {
      await migration.stop({ stopV2: true });
      await v1.stop();
      await flags.close();
      await store.close();
    },
  };
}
