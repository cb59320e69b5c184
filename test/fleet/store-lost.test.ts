/**
 * A node cut off from the store (PostgreSQL behind a TCP proxy the test
 * cuts): after `storeLostAfterMs` it says so in an event and either holds
 * the last share it heard or sends everything to V1; once the store is back
 * it says so and serves the store's share again.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createServer, type Server, type Socket, connect } from "node:net";
import { createFlags, createFleetNode, createPool, type MoltEvent, openStore } from "../../mod.ts";
import { fixture, sleep, waitFor } from "../helpers.ts";
import { BACKENDS, PG_URL } from "../store/backends.ts";

const pg = BACKENDS.find((b) => b.name === "postgres")!;

/** A TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused), black-holed, and restored on the same port. */
class Proxy {
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  private dropping = false;
  port = 0;

  /** Drop every byte from now on, closing nothing: what a partition looks like to both ends. */
  blackhole(): void {
    this.dropping = true;
  }

  async open(): Promise<void> {
    const target = new URL(PG_URL);
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) (this.sockets.add(s), s.on("close", () => this.sockets.delete(s)), s.on("error", () => {}));
      // Bytes cross unless the proxy black-holes them: a partition that drops packets without closing anything.
      client.on("data", (b) => this.dropping || upstream.write(b));
      upstream.on("data", (b) => this.dropping || client.write(b));
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(this.port, "127.0.0.1", r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    this.dropping = false;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

describe.skipIf(pg.skip !== null)("a node cut off from the store (postgres)", () => {
  afterAll(() => pg.cleanup());

  test.each(["cut", "blackhole"] as const)("store %s: whenStoreLost \"v1\" sends everything to V1 after storeLostAfterMs, \"hold\" keeps the last share; both say so, and recover", async (how) => {
    const direct = pg.fresh();
    const schema = new URL(direct).searchParams.get("schema")!;
    const common = { handler: fixture("echo_handler.py"), size: 1, heartbeatMs: 0, windowMs: 60_000, windowSlices: 120 };
    const nodes = await Promise.all((["v1", "hold"] as const).map(async (fallback, i) => {
      const proxy = new Proxy();
      await proxy.open();
      const url = `postgres://postgres@127.0.0.1:${proxy.port}/${new URL(PG_URL).pathname.slice(1)}?schema=${schema}`;
      const store = await openStore(url, { connectTimeoutMs: 2000 });
      const flags = await createFlags({ store, env: {}, pollMs: 100 });
      const [v1, v2] = await Promise.all([createPool({ name: "v1", strategy: "basic", ...common }), createPool({ name: "v2", ...common })]);
      const events: MoltEvent[] = [];
      v2.events.subscribe((e) => e.type.startsWith("fleet.store") && events.push(e));
      const node = await createFleetNode({
        store, flags, v1, v2, nodeId: `n${i}`, rolloutId: "cut", heartbeatMs: 200, leaseMs: 1500, windowMs: 500,
        // Long enough that a connection slow to come back on a busy machine is not taken for a second loss.
        whenStoreLost: fallback, storeLostAfterMs: 3000,
        // The rollout owns the share: whichever node leads starts it at 50% and holds it there.
        autoStart: true, plan: { shadowMs: 0, stages: [{ weightBp: 5000, minDurationMs: 600_000, minSamples: 1_000_000 }] },
      });
      return { fallback, proxy, store, flags, v1, v2, node, events };
    }));
    for (const n of nodes) expect(await waitFor(() => n.flags.share() === 5000, 10_000)).toBe(true);

    // A black hole leaves the node's queries hanging, not failing: the loss must be noticed all the same.
    for (const n of nodes) how === "cut" ? await n.proxy.cut() : n.proxy.blackhole();
    for (const n of nodes) expect(await waitFor(() => n.events.some((e) => e.type === "fleet.store_lost"), 15_000)).toBe(true);
    const [toV1, hold] = nodes;
    expect(toV1!.flags.share()).toBe(0);
    expect(toV1!.events[0]).toMatchObject({ type: "fleet.store_lost", fallback: "v1" });
    expect(hold!.flags.share()).toBe(5000);
    expect(toV1!.node.status().storeLostSince).not.toBeNull();

    // The partition heals as a reset would end it: connections dropped, then the store answering again.
    for (const n of nodes) if (how === "blackhole") await n.proxy.cut();
    for (const n of nodes) await n.proxy.open();
    for (const n of nodes) expect(await waitFor(() => n.events.some((e) => e.type === "fleet.store_recovered"), 15_000)).toBe(true);
    expect(await waitFor(() => toV1!.flags.share() === 5000, 15_000)).toBe(true);
    // Lost once, recovered once.
    expect(toV1!.events.map((e) => e.type)).toEqual(["fleet.store_lost", "fleet.store_recovered"]);
    expect(toV1!.node.status().storeLostSince).toBeNull();

    for (const n of nodes) {
      await n.node.stop();
      await Promise.all([n.v1.stop(), n.v2.stop()]);
      await n.flags.close();
      await n.store.close();
    }
  }, 60_000);

  test("stop() during a partition (the store's calls hang) returns, saying the store did not answer, instead of hanging", async () => {
    const proxy = new Proxy();
    await proxy.open();
    const url = `postgres://postgres@127.0.0.1:${proxy.port}/${new URL(PG_URL).pathname.slice(1)}?schema=${new URL(pg.fresh()).searchParams.get("schema")}`;
    const store = await openStore(url, { connectTimeoutMs: 2000 });
    const flags = await createFlags({ store, env: {}, pollMs: 100 });
    const common = { handler: fixture("echo_handler.py"), size: 1, heartbeatMs: 0, windowMs: 60_000, windowSlices: 120 };
    const [v1, v2] = await Promise.all([createPool({ name: "v1", strategy: "basic", ...common }), createPool({ name: "v2", ...common })]);
    const errors: unknown[] = [];
    const node = await createFleetNode({ store, flags, v1, v2, nodeId: "p", rolloutId: "partition", heartbeatMs: 200, leaseMs: 1000, windowMs: 500, onError: (e) => errors.push(e) });
    await waitFor(() => node.status().role === "leader", 10_000);
    proxy.blackhole();
    await sleep(300);
    let stopped = false;
    const stopping = node.stop().then(() => (stopped = true));
    expect(await waitFor(() => stopped, 30_000)).toBe(true);
    await stopping;
    expect(errors.some((e) => (e as { _tag?: string; operation?: string })._tag === "FleetError" && (e as { operation: string }).operation === "stop")).toBe(true);
    await proxy.cut();
    await Promise.all([v1.stop(), v2.stop()]);
    await flags.close().catch(() => {});
    await store.close();
  }, 60_000);
});
