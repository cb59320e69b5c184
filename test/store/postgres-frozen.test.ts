/**
 * A process frozen inside a transaction (SIGSTOP, a paused VM) does not
 * hold PostgreSQL's row locks for ever: the server ends a molt session idle
 * in a transaction after IDLE_IN_TRANSACTION_MS, and a writer waiting on
 * those rows — an operator's emergency rollback writing the share — goes
 * on. Before, it waited for as long as the frozen process lived.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { openStore } from "../../mod.ts";
import { IDLE_IN_TRANSACTION_MS, openPostgres } from "../../src/store/postgres-driver.ts";
import { parseStoreUrl } from "../../src/store/url.ts";
import { BACKENDS } from "./backends.ts";

const pg = BACKENDS.find((b) => b.name === "postgres")!;

describe.skipIf(pg.skip !== null)("a transaction frozen while it holds a row lock", () => {
  afterAll(() => pg.cleanup());

  test("is ended by the server, and the writer waiting on its row goes on", async () => {
    const url = pg.fresh();
    const store = await openStore(url);
    await store.flags.set("pool_v2_share", 2500);
    const where = parseStoreUrl(url);
    if (where.backend !== "postgres") throw new Error("expected a postgres url");
    const frozen = openPostgres({ url: where.url, schema: where.schema, display: where.display, connectTimeoutMs: 2000, maxConnections: 1 });
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    // Takes the share's row lock, then never finishes: as a process stopped mid-transaction would.
    const stuck = frozen.transaction(async (q) => {
      await q.run("UPDATE flags SET reason = ? WHERE key = ?", ["frozen", "pool_v2_share"]);
      locked();
      await new Promise(() => {});
    });
    stuck.catch(() => {});
    try {
      await holding;
      const t = performance.now();
      await store.flags.set("pool_v2_share", 0, { by: "oncall", reason: "emergency" });
      const waited = performance.now() - t;
      expect((await store.flags.get("pool_v2_share"))?.value).toBe(0);
      // It waited for the server to end the frozen session (before, for ever: the test's own timeout).
      expect(waited).toBeGreaterThan(IDLE_IN_TRANSACTION_MS / 2);
      // The frozen transaction's connection was closed under it: the server ended it, not the client.
      expect(await stuck.then(() => null, (e: unknown) => e)).toMatchObject({ _tag: "StoreError", operation: "transaction", reason: expect.stringContaining("CONNECTION_CLOSED") });
    } finally {
      await frozen.close(100).catch(() => {});
      await store.close();
    }
  }, 60_000);
});
