/**
 * A fleet of real node processes (each with real Python pools and its own
 * traffic) sharing one rollout, on the PostgreSQL server and on a shared
 * SQLite file: one leader at a time through kills and a SIGSTOP, commands
 * applied once, emergency rollback with no leader, nodes joining and
 * leaving, and a fault on one node's V2 caught fleet-wide.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { killChildren, waitFor } from "../helpers.ts";
import { BACKENDS, pgSkip } from "../store/backends.ts";
import { cli, decisionsOf, leaseOf, nextLeader, type NodeProcess, startNode, stopNodes, termOf, withStore } from "./helpers.ts";

/** The CLI's output without its colours. */
const plain = <T extends { out: string }>(r: T): T => ({ ...r, out: r.out.replace(/\x1b\[[0-9;]*m/g, "") });

/**
 * A lease of 1.5 s and windows of 0.5 s (the fixture's): a new leader is due within 2 s; a loaded machine
 * gets ten times that (five was not enough once: the whole suite beside two CPU-bound loops, PostgreSQL,
 * a leader stopped with SIGSTOP). The waits end as soon as the leader is there.
 */
const FAILOVER_MS = 20_000;
const STOP_NODES_MS = 30_000;
/** Stage 1 (20%) lasts ten minutes: the share must stay there through every failover. */
const LONG_STAGE = { shadowMs: 0, stages: [{ weightBp: 2000, minDurationMs: 600_000, minSamples: 20 }, { weightBp: 10_000, minDurationMs: 0, minSamples: 0 }] };

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== null)(`a fleet of three nodes (${backend.name})`, () => {
    let nodes: NodeProcess[] = [];
    // Stopping takes up to 10 s a node (SIGTERM, then SIGKILL): longer than a hook's default 5 s on a loaded machine.
    afterEach(async () => {
      await stopNodes(nodes);
      nodes = [];
    }, STOP_NODES_MS);
    afterAll(() => (killChildren(), backend.cleanup()));

    const start = async (url: string, ids: readonly string[], options: Record<string, unknown> = {}): Promise<NodeProcess[]> => {
      // These tests are about leadership, not latency: on a loaded machine (CI runs two suites side by side) V2's
      // p99 and queue wait can pass the absolute 200 ms and 100 ms ceilings and roll the rollout back under them.
      const thresholds = { maxP99Ms: 30_000, maxQueueWaitMs: 30_000, ...(options.thresholds as object | undefined) };
      const started = await Promise.all(ids.map((id) => startNode(url, id, { ...options, thresholds })));
      nodes.push(...started);
      return started;
    };
    const byId = (id: string): NodeProcess => nodes.find((n) => n.id === id)!;
    // What does not hang on the store's locks and leases (what status shows, joining, a fault judged fleet-wide) runs on one
    // backend: PostgreSQL, a fleet's store in production, or SQLite where there is no PostgreSQL.
    const logicBackend = backend.name === (pgSkip === null ? "postgres" : "sqlite");
    /** Start nodes and wait until one leads and has judged a window; resolves with the lease it holds. */
    const leading = async (url: string, ids: readonly string[]) => {
      await start(url, ids, { plan: LONG_STAGE });
      const leader = await nextLeader(url, 0, null, FAILOVER_MS, nodes);
      expect(leader).not.toBeNull();
      expect(await judgedBy(url, leader!.term, 1)).toBe(true);
      return leader!;
    };
    const judgedBy = async (url: string, term: number, count: number): Promise<boolean> =>
      waitFor(async () => (await decisionsOf(url)).filter((d) => d.kind === "judged" && termOf(d) === term).length >= count, 20_000);

    test("leader killed with kill -9, three times: another node leads within the lease, the stage resumes with its time, no decision twice, the journal contiguous", async () => {
      const url = backend.fresh();
      await start(url, ["a", "b", "c"], { plan: LONG_STAGE });
      let leader = await nextLeader(url, 0, null, FAILOVER_MS, nodes);
      expect(leader).not.toBeNull();
      let spare = 0;
      for (let kill = 0; kill < 3; kill++) {
        expect(await judgedBy(url, leader!.term, 2)).toBe(true);
        byId(leader!.holder).signal("SIGKILL");
        const next = await nextLeader(url, leader!.term, leader!.holder, FAILOVER_MS, nodes);
        expect(next).not.toBeNull();
        expect(next!.term).toBe(leader!.term + 1);
        leader = next;
        await start(url, [`spare${++spare}`], { plan: LONG_STAGE });
      }
      expect(await judgedBy(url, leader!.term, 2)).toBe(true);

      const decisions = await decisionsOf(url);
      // One leader at a time: terms never go back in the order decisions were written.
      const terms = decisions.map(termOf);
      expect(terms).toEqual([...terms].sort((x, y) => x - y));
      expect(new Set(terms).size).toBe(4);
      expect(decisions.filter((d) => d.kind === "started")).toHaveLength(1);
      // No stage skipped: the share never left stage 1's 20%.
      expect(decisions.every((d) => d.shareTo === 2000)).toBe(true);
      // The stage's time carried over each failover.
      const elapsed = decisions.map((d) => Number(d.inputs.elapsedMs));
      expect(elapsed).toEqual([...elapsed].sort((x, y) => x - y));
      // No decision twice: each (term, time, kind) is one row.
      expect(new Set(decisions.map((d) => `${termOf(d)}@${d.at}:${d.kind}`)).size).toBe(decisions.length);
      const seqs = await withStore(url, async (s) => (await s.journal.read("rollout:fleet")).map((e) => e.seq));
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }, 120_000);

    test("a leader stopped with SIGSTOP is replaced; back with SIGCONT, its writes are refused and it follows", async () => {
      const url = backend.fresh();
      const first = await leading(url, ["a", "b"]);
      const old = byId(first.holder);
      old.signal("SIGSTOP");
      const next = await nextLeader(url, first.term, first.holder, FAILOVER_MS, nodes);
      expect(next).not.toBeNull();
      expect(await judgedBy(url, next!.term, 2)).toBe(true);
      old.signal("SIGCONT");
      expect(await old.until((l) => l.event === "fleet.leader_lost" && l.term === first.term, FAILOVER_MS)).toBe(true);
      expect(await judgedBy(url, next!.term, 4)).toBe(true);
      const decisions = await decisionsOf(url);
      // Nothing of the old term was written once the new one began.
      const newStart = decisions.findIndex((d) => termOf(d) === next!.term);
      expect(decisions.slice(newStart).every((d) => termOf(d) === next!.term)).toBe(true);
      expect((await leaseOf(url))!.holder).toBe(next!.holder);
      const seqs = await withStore(url, async (s) => (await s.journal.read("rollout:fleet")).map((e) => e.seq));
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }, 120_000);

    test("an operator command is claimed and applied once, whatever the number of serving nodes", async () => {
      const url = backend.fresh();
      const leader = await leading(url, ["a", "b", "c"]);
      for (const command of ["pause", "resume", "pause"]) {
        const id = await withStore(url, (s) => s.commands.enqueue({ target: "fleet", command, args: { reason: `test ${command}` }, requestedBy: "test" }));
        expect(await waitFor(async () => (await withStore(url, (s) => s.commands.get(id)))?.status === "applied", 10_000)).toBe(true);
        const c = await withStore(url, (s) => s.commands.get(id));
        expect(c!.claimedBy).toBe(leader.holder);
      }
      const kinds = (await decisionsOf(url)).map((d) => d.kind).filter((k) => k.startsWith("operator."));
      expect(kinds).toEqual(["operator.pause", "operator.resume", "operator.pause"]);
    }, 120_000);

    test("emergency rollback with no live leader: share 0 heard by every node, and the next leader finds the rollout rolled back", async () => {
      const url = backend.fresh();
      const first = await leading(url, ["a", "b", "c"]);
      const followers = nodes.filter((n) => n.id !== first.holder);
      // Each follower serves the first stage before the emergency: one that had not heard 20% yet would hear no
      // change in a 0 (seen once in CI, with the suite two files at a time beside the Node suite).
      for (const f of followers) expect(await f.until((l) => l.event === "share" && l.bp === 2000, 20_000)).toBe(true);
      byId(first.holder).signal("SIGSTOP");
      const at = Date.now();
      const emergency = await cli(url, "rollback", "--emergency", "--reason", "test emergency", "--by", "oncall");
      // The share is 0 in the store at once, whether the next leader applies the command within the wait or nothing leads yet.
      expect(emergency.code).toBe(0);
      expect(emergency.out).toContain("V2's share is 0 in the store");
      // Heard once the CLI wrote it (how fast is bench:fleet's to measure: p99 45 ms on PostgreSQL, 118 ms on SQLite).
      const written = await withStore(url, async (s) => (await s.flags.changes({ key: "pool_v2_share" })).find((c) => c.changedBy === "oncall")!);
      expect(written.newValue).toBe(0);
      // A 0 from the emergency on: the CLI's own, or a new leader's rollback written before it when the CLI was
      // slow to start (then the CLI's 0 changes nothing, and no follower says it again).
      for (const f of followers) expect(await f.until((l) => l.event === "share" && l.bp === 0 && l.at >= at, 10_000)).toBe(true);
      const next = await nextLeader(url, first.term, first.holder, FAILOVER_MS, nodes);
      expect(next).not.toBeNull();
      expect(await waitFor(async () => (await decisionsOf(url)).some((d) => d.kind === "rolled_back"), 10_000)).toBe(true);
      // The share was never set back up after the emergency.
      for (const f of followers) expect(f.lines.filter((l) => l.event === "share" && l.at > at).every((l) => l.bp === 0)).toBe(true);
      const kinds = (await decisionsOf(url)).map((d) => d.kind);
      expect(kinds).toContain("operator.emergency_rollback");
    }, 120_000);

    test.if(logicBackend)("molt status shows the fleet and who leads; a command with no live leader says so at once; a fleet whose nodes are all gone is shown as such", async () => {
      const url = backend.fresh();
      const leader = await leading(url, ["a", "b"]);
      const status = plain(await cli(url, "status"));
      expect(status.code).toBe(0);
      expect(status.out).toContain(`leader ${leader.holder} (term ${leader.term}`);
      for (const id of ["a", "b"]) expect(status.out).toMatch(new RegExp(`│ ${id} +│`));
      expect(status.out).not.toContain("(stale)");
      byId(leader.holder).signal("SIGSTOP");
      expect(await waitFor(async () => plain(await cli(url, "status")).out.includes("(stale)"), FAILOVER_MS)).toBe(true);
      await stopNodes(nodes);
      nodes = [];
      const gone = plain(await cli(url, "status"));
      expect(gone.out).toContain("all 2 nodes gone");
      expect(gone.out).toContain("not counting: no live leader");
      const pause = await cli(url, "rollout", "pause", "--wait-ms", "60000");
      expect(pause.code).toBe(3);
      expect(pause.err).toContain("no live leader");
      // At once, not after the 60 s wait.
      expect(pause.ms).toBeLessThan(30_000);
    }, 120_000);

    test.if(logicBackend)("a node joining mid-stage serves the current share within a second; one leaving is marked stopped", async () => {
      const url = backend.fresh();
      const leader = await leading(url, ["a", "b"]);
      const [late] = await start(url, ["late"], { plan: LONG_STAGE });
      const ready = late!.lines.find((l) => l.event === "ready")!;
      const serving = ready.share === 2000 || (await late!.until((l) => l.event === "share" && l.bp === 2000 && l.at - ready.at <= 1000, 2000));
      expect(serving).toBe(true);
      // Its windows are judged with the others' once it has written a whole one.
      expect(await waitFor(async () => (await decisionsOf(url)).some((d) => ((d.inputs.fleet as { nodes?: { nodeId: string }[] } | undefined)?.nodes ?? []).some((n) => n.nodeId === "late")), 15_000)).toBe(true);
      const follower = nodes.find((n) => n.id !== leader.holder && n.id !== "late")!;
      follower.signal("SIGTERM");
      await follower.exited;
      const row = await withStore(url, async (s) => (await s.nodes.list("fleet")).find((n) => n.nodeId === follower.id));
      expect(row?.role).toBe("stopped");
      expect(row?.live).toBe(false);
    }, 120_000);

    test.if(logicBackend)("a fault on one node's V2 only is caught fleet-wide, and the judgement names the node", async () => {
      const url = backend.fresh();
      await start(url, ["a", "b"], { plan: LONG_STAGE });
      await start(url, ["bad"], { plan: LONG_STAGE, fault: true });
      expect(await waitFor(async () => (await decisionsOf(url)).some((d) => d.kind === "rolled_back"), 30_000)).toBe(true);
      const failing = (await decisionsOf(url)).find((d) => d.kind === "rolling_back")!;
      expect(failing.reason).toContain("node bad is the outlier");
      expect(await waitFor(async () => (await withStore(url, (s) => s.flags.get("pool_v2_share")))?.value === 0, 5000)).toBe(true);
    }, 120_000);
  });
}
