/**
 * startDashboard: the web dashboard of one migration, served with
 * node:http (the same code under Bun, Deno and Node). Routes:
 *
 * - `GET /` the page; `GET /app.js`, `GET /app.css` its script and style;
 * - `GET /api/snapshot` the current snapshot as JSON;
 * - `GET /api/events` server-sent events: `snapshot` at once and at each change, `problem` when the store cannot be read;
 * - `POST /api/actions` an operator action (`Authorization: Bearer <token>`).
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { ConfigError, isMoltError } from "../errors.ts";
import { applyAction } from "./actions.ts";
import { hostAllowed, TOKEN_HEADER, tokenMatches } from "./auth.ts";
import { LiveFeed } from "./live.ts";
import { type DashboardOptions, resolveDashboardOptions } from "./options.ts";
import { DASHBOARD_CSP, dashboardHtml } from "./page-html.ts";
import { DASHBOARD_SCRIPT } from "./page-script.ts";
import { DASHBOARD_STYLE } from "./page-style.ts";
import { SnapshotReader } from "./snapshot.ts";

/** A running dashboard. */
export interface Dashboard {
  /** Where it answers, e.g. "http://127.0.0.1:4280/" (with the port taken when 0 was asked). */
  readonly url: string;
  readonly port: number;
  /** True when started without a token: every action is refused. */
  readonly readOnly: boolean;
  /** Stop listening, end every event stream and the polling. The store stays open (it is the caller's). */
  close(): Promise<void>;
}

/** The largest action body read; an action is a few short strings. */
const MAX_BODY = 16 * 1024;

const SECURITY_HEADERS = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
} as const;

/**
 * Serve the dashboard of `migrationId` from `store` until `close()`.
 * Options are checked first (a ConfigError names the bad one); a port that
 * cannot be listened on is a ConfigError on `port` too.
 *
 * @example
 * ```ts
 * import { openStore, startDashboard } from "molt";
 * const store = await openStore(":memory:");
 * const dashboard = await startDashboard({ store, migrationId: "demo", port: 0 });
 * const snapshot = await (await fetch(new URL("api/snapshot", dashboard.url))).json();
 * console.log(snapshot.migrationId, snapshot.readOnly); // demo true
 * await dashboard.close();
 * await store.close();
 * ```
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const o = resolveDashboardOptions(options);
  const reader = new SnapshotReader(o.store, o.migrationId, o.token === null);
  const feed = new LiveFeed(() => reader.read(), o.pollMs);
  const sockets = new Set<Socket>();
  let port = o.port;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req.headers.host, o.host, port)) return json(res, 421, { error: `this dashboard answers only to loopback names (localhost or 127.0.0.1:${port}), not ${JSON.stringify(req.headers.host ?? "")}` });
    const path = new URL(req.url ?? "/", "http://dashboard").pathname;
    const route = `${req.method} ${path}`;
    switch (route) {
      case "GET /":
        return send(res, 200, "text/html; charset=utf-8", dashboardHtml(o.migrationId));
      case "GET /app.js":
        return send(res, 200, "text/javascript; charset=utf-8", DASHBOARD_SCRIPT);
      case "GET /app.css":
        return send(res, 200, "text/css; charset=utf-8", DASHBOARD_STYLE);
      case "GET /api/snapshot":
        return json(res, 200, await reader.read());
      case "GET /api/events":
        return feed.listen(res);
      case "POST /api/actions":
        return await act(req, res);
    }
    if (["/", "/app.js", "/app.css", "/api/snapshot", "/api/events", "/api/actions"].includes(path)) return json(res, 405, { error: `${req.method} is not allowed on ${path}` });
    return json(res, 404, { error: `no ${path} here: the dashboard serves /, /api/snapshot, /api/events and /api/actions` });
  };

  const act = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (o.token === null) return json(res, 403, { error: "this dashboard is read-only: it was started without a token (--token or MOLT_DASHBOARD_TOKEN)" });
    if (!tokenMatches(req.headers[TOKEN_HEADER], o.token)) {
      res.setHeader("www-authenticate", 'Bearer realm="molt dashboard"');
      return json(res, 401, { error: "missing or wrong token: send Authorization: Bearer <the dashboard's token>" });
    }
    // JSON only: a form posted by another site cannot be one (and could not carry the token anyway).
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) return json(res, 415, { error: "send the action as application/json" });
    const text = await body(req);
    if (text === null) return json(res, 413, { error: `an action is at most ${MAX_BODY} bytes` });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return json(res, 400, { error: `the body is not JSON: ${(e as Error).message}` });
    }
    try {
      return json(res, 202, await applyAction(o.store, o.migrationId, parsed));
    } catch (e) {
      if (isMoltError(e)) return json(res, e._tag === "ConfigError" ? 400 : 409, { error: e.message, tag: e._tag });
      throw e;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) json(res, 500, { error: String((e as Error).message ?? e), tag: (e as { _tag?: string })._tag ?? null });
      else res.end();
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: Error & { code?: string }) =>
      reject(new ConfigError({ owner: "dashboard", option: "port", received: o.port, allowed: `a port free to listen on at ${o.host} (${e.code ?? e.message})` })));
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  port = typeof address === "object" && address !== null ? address.port : o.port;
  const url = `http://${o.host.includes(":") ? `[${o.host}]` : o.host}:${port}/`;
  let closing: Promise<void> | null = null;
  return {
    url,
    port,
    readOnly: o.token === null,
    close: () =>
      closing ??= (async () => {
        feed.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive connections would hold server.close() open for their idle timeout.
        for (const s of sockets) s.destroy();
        await closed;
        await feed.settled();
      })(),
  };
}

function send(res: ServerResponse, status: number, type: string, text: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "content-length": Buffer.byteLength(text) }).end(text);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(value));
}

/** The request's body, or null past MAX_BODY. */
async function body(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
