/**
 * A real HTTP receiver on 127.0.0.1 (node:http, so the tests run under
 * Node too) that records every request and answers as the test says: a
 * status per request, or holds the answer until released.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";

/** One request as received. */
export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** performance.now() when it arrived. */
  readonly receivedAt: number;
}

export interface Receiver {
  readonly url: string;
  readonly requests: Received[];
  /** How many requests have been answered. */
  answered(): number;
  /** Answer the held requests (and every later one at once). */
  release(): void;
  close(): Promise<void>;
}

/**
 * Start a receiver. `status(n)` gives the status of the n-th request
 * (0-based; default 204); `hold`: answer nothing until `release()`.
 */
export async function startReceiver(options: { status?: (n: number) => number; hold?: boolean } = {}): Promise<Receiver> {
  const requests: Received[] = [];
  let answered = 0;
  let held = options.hold === true;
  const waiting: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const n = requests.length;
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), receivedAt: performance.now() });
      const answer = (): void => {
        if (res.destroyed) return;
        res.writeHead(options.status?.(n) ?? 204);
        res.end();
        answered++;
      };
      if (held) waiting.push(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    answered: () => answered,
    release: () => {
      held = false;
      for (const w of waiting.splice(0)) w();
    },
    close: () => {
      for (const w of waiting.splice(0)) w();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A URL on 127.0.0.1 where nothing listens (a port taken, then freed): connections are refused. */
export async function refusingUrl(): Promise<string> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}/hook`;
}
