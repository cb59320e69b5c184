/**
 * The dashboard's live feed: while at least one page listens on
 * `/api/events`, the store is read every `pollMs` and each snapshot that
 * differs from the last one sent is pushed to every page as a server-sent
 * event. One read serves every page; with no page open nothing is read.
 * `close()` ends every stream and the polling, leaving no timer behind.
 *
 * @module
 */
import type { ServerResponse } from "node:http";
import { changeKey, type DashboardSnapshot } from "./snapshot.ts";

/** Comments sent this often keep proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

/**
 * Pushes snapshots to the pages that listen.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * import { LiveFeed } from "./live.ts";
 * import { SnapshotReader } from "./snapshot.ts";
 * const store = await openStore(":memory:");
 * const reader = new SnapshotReader(store, "demo", true);
 * const feed = new LiveFeed(() => reader.read(), 250);
 * console.log(feed.listeners); // 0
 * feed.close();
 * await store.close();
 * ```
 */
export class LiveFeed {
  private readonly streams = new Set<ServerResponse>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private reading: Promise<void> | null = null;
  private lastKey: string | null = null;
  private lastEvent: string | null = null;
  private lastSentAt = 0;
  private closed = false;

  constructor(private readonly read: () => Promise<DashboardSnapshot>, private readonly pollMs: number) {}

  /** How many pages listen. */
  get listeners(): number {
    return this.streams.size;
  }

  /** Start an event stream on `res`: the current snapshot at once, then every change. */
  listen(res: ServerResponse): void {
    if (this.closed) {
      res.writeHead(503, { "content-type": "text/plain" }).end("the dashboard is closing");
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    // Tell EventSource to come back after a second if the stream breaks.
    res.write("retry: 1000\n\n");
    this.streams.add(res);
    res.on("close", () => this.streams.delete(res));
    // A page that joins gets the latest snapshot now rather than at the next change; with none yet, the poll that starts sends it.
    if (this.lastEvent !== null) res.write(this.lastEvent);
    if (this.timer === null && this.reading === null) this.poll();
  }

  /** End every stream and stop polling. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  /** The read in progress, if any (close() waits for it before the store may be closed). */
  settled(): Promise<void> {
    return this.reading ?? Promise.resolve();
  }

  private poll(): void {
    this.timer = null;
    this.reading = (async () => {
      try {
        const snapshot = await this.read();
        const key = changeKey(snapshot);
        if (key !== this.lastKey) {
          this.lastKey = key;
          this.lastEvent = `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
          this.send(this.lastEvent);
        } else if (Date.now() - this.lastSentAt > KEEPALIVE_MS) this.send(": keep-alive\n\n");
      } catch (e) {
        // The store may be briefly unreachable (a PostgreSQL restart): say so on the page and keep polling.
        this.lastKey = null;
        this.send(`event: problem\ndata: ${JSON.stringify({ error: String((e as Error).message ?? e) })}\n\n`);
      }
    })();
    void this.reading.then(() => {
      this.reading = null;
      // Nobody listens: stop until a page comes back.
      if (!this.closed && this.streams.size > 0) this.timer = setTimeout(() => this.poll(), this.pollMs);
    });
  }

  private send(event: string): void {
    this.lastSentAt = Date.now();
    for (const res of this.streams) res.write(event);
  }
}
