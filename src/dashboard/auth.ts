/**
 * Who may do what on the dashboard: anyone who reaches the page reads it;
 * acting needs the token the server was started with, given in a header
 * (never in the page, the URL or a cookie, so another site can neither read
 * it nor make a browser send it). The token is compared in constant time.
 * A server bound to a loopback address answers only requests addressed to
 * a loopback name, so a web page whose DNS name is pointed at 127.0.0.1
 * (DNS rebinding) cannot read it either.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

/**
 * The header an action carries the token in: `Authorization: Bearer <token>`.
 *
 * @example
 * ```ts
 * import { TOKEN_HEADER } from "./auth.ts";
 * const headers = { [TOKEN_HEADER]: "Bearer s3cret-s3cret-s3cret", "content-type": "application/json" };
 * console.log(Object.keys(headers)[0]); // authorization
 * ```
 */
export const TOKEN_HEADER = "authorization";

/**
 * Whether an `Authorization` header holds the token. Both are hashed first,
 * so that the comparison takes the same time whatever the lengths.
 *
 * @example
 * ```ts
 * import { tokenMatches } from "./auth.ts";
 * console.log(tokenMatches("Bearer s3cret-s3cret-s3cret", "s3cret-s3cret-s3cret"), tokenMatches("Bearer guess", "s3cret-s3cret-s3cret")); // true false
 * ```
 */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/.exec(header ?? "")?.[1] ?? "";
  const digest = (s: string): Buffer => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

/**
 * Whether a request's Host header may be answered: any, unless the server
 * listens on a loopback address, where only loopback names with its port.
 *
 * @example
 * ```ts
 * import { hostAllowed } from "./auth.ts";
 * console.log(hostAllowed("localhost:4280", "127.0.0.1", 4280), hostAllowed("evil.example:4280", "127.0.0.1", 4280)); // true false
 * ```
 */
export function hostAllowed(hostHeader: string | undefined, boundHost: string, port: number): boolean {
  if (!LOOPBACK.test(boundHost)) return true;
  const m = /^(\[[0-9a-f:.]+\]|[^:]+)(?::(\d+))?$/i.exec(hostHeader ?? "");
  if (m === null) return false;
  const name = m[1]!.replace(/^\[|\]$/g, "");
  return LOOPBACK.test(name) && Number(m[2] ?? 80) === port;
}
