/**
 * A PostgreSQL connection cut just after it opened, with the server refusing
 * the reconnection: whatever the driver had sent fails as a StoreError to
 * its caller, and nothing surfaces in the host as an unhandled rejection
 * (which takes a service down where rejections are fatal).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { connect, createServer, type Socket } from "node:net";
import { openStore } from "../../mod.ts";
import { rejection, sleep } from "../helpers.ts";
import { BACKENDS, PG_URL } from "../store/backends.ts";

const pg = BACKENDS.find((b) => b.name === "postgres")!;

describe.skipIf(pg.skip !== null)("a PostgreSQL connection cut as it opens", () => {
  afterAll(() => pg.cleanup());

  test("the statements in flight fail with StoreError unreachable, and nothing is left unhandled", async () => {
    const target = new URL(PG_URL);
    const sockets = new Set<Socket>();
    // With trust authentication a client sends its startup message, then (once the server is ready) its first
    // statement: the proxy cuts the connection on that second write and refuses every connection after it.
    const server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      let writes = 0;
      for (const s of [client, upstream]) (sockets.add(s), s.on("error", () => {}));
      client.on("data", (b) => {
        if (++writes < 2) return void upstream.write(b);
        server.close();
        for (const s of sockets) s.destroy();
      });
      upstream.on("data", (b) => client.write(b));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const schema = new URL(pg.fresh()).searchParams.get("schema");
      const t0 = Date.now();
      const e = await rejection(openStore(`postgres://postgres@127.0.0.1:${port}${target.pathname}?schema=${schema}`, { connectTimeoutMs: 1000 }));
      expect([e._tag, e.failure]).toEqual(["StoreError", "unreachable"]);
      // Not after the 5 s that closing grants statements in flight (there are none of the caller's; it once waited them out).
      expect(Date.now() - t0).toBeLessThan(4000);
      // Long enough for the driver's reconnection to be refused and whatever it rejects to be seen.
      await sleep(500);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      server.close();
    }
  }, 30_000);
});
