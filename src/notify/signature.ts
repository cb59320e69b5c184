/**
 * The webhook signature: `X-Molt-Signature: sha256=<hex>`, the HMAC-SHA256
 * of the exact request body under the shared secret, as GitHub signs its
 * webhooks. A receiver recomputes it over the bytes it received (before
 * parsing them) and compares in constant time.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The header a signed webhook request carries.
 *
 * @example
 * ```ts
 * import { SIGNATURE_HEADER } from "molt";
 * console.log(SIGNATURE_HEADER); // X-Molt-Signature
 * ```
 */
export const SIGNATURE_HEADER = "X-Molt-Signature";

/**
 * The signature header's value for `body` under `secret`: `sha256=` and the
 * hex HMAC-SHA256.
 *
 * @example
 * ```ts
 * import { signPayload } from "molt";
 * console.log(signPayload("secret", "{}")); // sha256=77325902caca812dc259733aacd046b73817372c777b8d95b402647474516e13
 * ```
 */
export function signPayload(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/**
 * Whether `signature` (the header's value, or null when it is missing) is
 * `body`'s under `secret`; compared in constant time.
 *
 * @example
 * ```ts
 * import { signPayload, verifySignature } from "molt";
 * const body = JSON.stringify({ event: "rollout.started" });
 * console.log(verifySignature("s3cret", body, signPayload("s3cret", body)), verifySignature("s3cret", body + " ", signPayload("s3cret", body))); // true false
 * ```
 */
export function verifySignature(secret: string, body: string, signature: string | null | undefined): boolean {
  if (typeof signature !== "string") return false;
  const expected = Buffer.from(signPayload(secret, body), "utf8");
  const given = Buffer.from(signature, "utf8");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
