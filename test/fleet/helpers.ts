/**
 * Fleet test helpers: node processes (examples/fleet-node.ts) whose
 * JSON lines are collected as they come, and reads of the fleet's store.
 */
import { type Decision, openStore, type Store } from "../../mod.ts";
import { driverOf } from "../../src/store/store.ts";
import { lines, repoPath, spawnChild, tsCommand, waitFor } from "../helpers.ts";

/** A line a node printed. */
export type NodeLine = { readonly event: string; readonly nodeId: string; readonly at: number } & Record<string, unknown>;

/** A node process. */
export interface NodeProcess {
  readonly id: string;
  readonly pid: number;
  readonly lines: NodeLine[];
  readonly exited: Promise<number>;
  /** Wait until a line matches (true) or `ms` pass (false). */
  until(match: (l: NodeLine) => boolean, ms: number): Promise<boolean>;
  signal(sig: NodeJS.Signals): void;
}

/** Start a node (examples/fleet-node.ts) with id `id` on the store at `url`; `fault` breaks its V2. Resolves once it printed "ready". */
export async function startNode(url: string, id: string, options: Record<string, unknown> = {}): Promise<NodeProcess> {
  const { fault, ...rest } = options;
  const given = { ...rest, ...(fault === true ? { v2Env: { MOLT_FAULT: "1" } } : {}) };
  const child = spawnChild(tsCommand(repoPath("examples/fleet-node.ts"), url, id, JSON.stringify(given)), { stderr: "inherit" });
  const got: NodeLine[] = [];
  void (async () => {
    for await (const line of lines(child.stdout)) {
      try {
        got.push(JSON.parse(line));
      } catch {
        // Not one of the node's lines.
      }
    }
  })();
  const node: NodeProcess = {
    id,
    pid: child.pid,
    lines: got,
    exited: child.exited,
    until: (match, ms) => waitFor(() => got.some(match), ms),
    signal: (sig) => {
      try {
        process.kill(child.pid, sig);
      } catch {
        // Already gone.
      }
    },
  };
  if (!(await node.until((l) => l.event === "ready", 30_000))) throw new Error(`node ${id} did not get ready`);
  return node;
}

/** Stop nodes: SIGCONT (a stopped one), then SIGTERM, then SIGKILL after 10 s. */
export async function stopNodes(nodes: readonly NodeProcess[]): Promise<void> {
  await Promise.all(nodes.map(async (n) => {
    n.signal("SIGCONT");
    n.signal("SIGTERM");
    const timer = setTimeout(() => n.signal("SIGKILL"), 10_000);
    await n.exited;
    clearTimeout(timer);
  }));
}

/** Open the store for one read. */
export async function withStore<T>(url: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(url);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The lease of the fleet's rollout, or null. */
export const leaseOf = (url: string, rolloutId = "fleet") => withStore(url, (s) => s.leases.get(`rollout:${rolloutId}`));

/**
 * Wait for a live holder of the lease other than `not`, with a term above `after`; resolves with it, or null on
 * timeout, after printing what the fleet looked like then (the lease, the server's busy sessions and what blocks
 * them, each node's last lines): a failover that never came must say why.
 */
export async function nextLeader(
  url: string,
  after: number,
  not: string | null,
  ms: number,
  nodes: readonly NodeProcess[] = [],
): Promise<{ holder: string; term: number; acquiredAt: number } | null> {
  let found: { holder: string; term: number; acquiredAt: number } | null = null;
  await waitFor(async () => {
    const l = await leaseOf(url);
    if (l !== null && l.holder !== null && l.holder !== not && l.term > after && l.remainingMs >= 0) found = { holder: l.holder, term: l.term, acquiredAt: l.acquiredAt };
    return found !== null;
  }, ms);
  if (found === null) console.error(`no leader after term ${after} other than ${not} within ${ms} ms: ${JSON.stringify(await fleetState(url, nodes))}`);
  return found;
}

async function fleetState(url: string, nodes: readonly NodeProcess[]): Promise<Record<string, unknown>> {
  const sessions = !url.startsWith("postgres") ? null : await withStore(url, (s) =>
    driverOf(s).all(
      `SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid)::text AS blocked_by,
         (extract(epoch from clock_timestamp() - xact_start) * 1000)::bigint AS xact_ms, left(query, 160) AS query
       FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()`,
    )
  ).catch((e: Error) => e.message);
  return {
    lease: await leaseOf(url).catch((e: Error) => e.message),
    sessions,
    nodes: Object.fromEntries(nodes.map((n) => [n.id, { pid: n.pid, last: n.lines.slice(-6) }])),
  };
}

/** The fleet rollout's decisions. */
export const decisionsOf = (url: string, rolloutId = "fleet"): Promise<Decision[]> => withStore(url, (s) => s.decisions.list(rolloutId));

/** The term a decision was made under. */
export const termOf = (d: Decision): number => Number((d.inputs as { leader?: { term?: number } }).leader?.term ?? 0);

/** Run the molt CLI against `url`. */
export async function cli(url: string, ...args: string[]): Promise<{ code: number; out: string; err: string; ms: number }> {
  const t = performance.now();
  const child = spawnChild(tsCommand(repoPath("src/cli/molt.ts"), "--store", url, "--migration", "fleet", ...args), { stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, out, err, ms: performance.now() - t };
}
