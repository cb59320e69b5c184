/**
 * Wire protocol v1 messages, defined once with Schema.
 *
 * @module
 */
import { Schema } from "effect";
import { ProtocolError } from "../errors.ts";

/**
 * The protocol version this host speaks; a worker saying another is refused.
 *
 * @example
 * ```ts
 * import { PROTOCOL_VERSION } from "molt";
 * console.log(PROTOCOL_VERSION); // 1
 * ```
 */
export const PROTOCOL_VERSION = 1;

/**
 * A request frame the host writes.
 *
 * @example
 * ```ts
 * import { Schema } from "effect";
 * import { Request } from "molt";
 * console.log(Schema.is(Request)({ id: 1, command: "ping", args: null })); // true
 * ```
 */
export const Request: Schema.Codec<Request> = Schema.Struct({
  id: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  command: Schema.String,
  args: Schema.Unknown,
  deadline_ms: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  session: Schema.optionalKey(Schema.String),
});
/** A request frame the host writes. */
export type Request = {
  readonly id: number;
  readonly command: string;
  readonly args: unknown;
  readonly deadline_ms?: number;
  readonly session?: string;
};

/** The error a worker reports instead of a result. */
export const WireError: Schema.Codec<WireError> = Schema.Struct({
  type: Schema.String,
  message: Schema.String,
  traceback: Schema.optionalKey(Schema.String),
  retryable: Schema.optionalKey(Schema.Boolean),
});
/** The error a worker reports instead of a result. */
export type WireError = {
  readonly type: string;
  readonly message: string;
  readonly traceback?: string;
  readonly retryable?: boolean;
};

/** A successful answer to request `id`. */
export const OkResponse: Schema.Codec<OkResponse> = Schema.Struct({
  id: Schema.Int,
  ok: Schema.Literal(true),
  result: Schema.Unknown,
});
/** A successful answer to request `id`. */
export type OkResponse = {
  readonly id: number;
  readonly ok: true;
  readonly result: unknown;
};

/** A failed answer; `id` is null when the worker could not tell which request it was. */
export const ErrorResponse: Schema.Codec<ErrorResponse> = Schema.Struct({
  id: Schema.NullOr(Schema.Int),
  ok: Schema.Literal(false),
  error: WireError,
});
/** A failed answer; `id` is null when the worker could not tell which request it was. */
export type ErrorResponse = {
  readonly id: number | null;
  readonly ok: false;
  readonly error: WireError;
};

/**
 * Any frame a worker writes: an OkResponse or an ErrorResponse.
 *
 * @example
 * ```ts
 * import { Schema } from "effect";
 * import { Response } from "molt";
 * console.log(Schema.is(Response)({ id: 3, ok: false, error: { type: "ValueError", message: "bad" } })); // true
 * ```
 */
export const Response: Schema.Codec<Response> = Schema.Union([OkResponse, ErrorResponse]);
/** Any frame a worker writes. */
export type Response = OkResponse | ErrorResponse;

/** The first frame a worker writes: id 0, describing itself. */
export const Hello: Schema.Codec<Hello> = Schema.Struct({
  protocol: Schema.Int,
  pid: Schema.Int,
  python: Schema.String,
  handler: Schema.String,
  threads: Schema.Int,
  commands: Schema.Array(Schema.String),
});
/** The first frame a worker writes: id 0, describing itself. */
export type Hello = {
  readonly protocol: number;
  readonly pid: number;
  readonly python: string;
  readonly handler: string;
  readonly threads: number;
  readonly commands: readonly string[];
};

const isResponse = Schema.is(Response);

// The hot path: a successful answer. This accepts a strict subset of what
// OkResponse accepts (it costs 20 ns against Schema.is's 300); everything
// else is judged by the schema itself.
function isOkShape(value: unknown): value is Response {
  return typeof value === "object" && value !== null && (value as { ok?: unknown }).ok === true &&
    Number.isInteger((value as { id?: unknown }).id) && "result" in value;
}
const decodeResponse = Schema.decodeUnknownSync(Response);
const decodeHello = Schema.decodeUnknownSync(Hello);
const utf8 = new TextDecoder("utf-8", { fatal: true });

function violation(reason: ProtocolError["reason"], detail: string): ProtocolError {
  return new ProtocolError({ reason, detail });
}

/**
 * Decode one response payload; anything that is not a valid response is a
 * ProtocolError (`invalid_utf8`, `invalid_json` or `invalid_message`).
 *
 * @example
 * ```ts
 * import { parseResponse } from "molt";
 * console.log(parseResponse(new TextEncoder().encode('{"id":2,"ok":true,"result":[1]}'))); // { id: 2, ok: true, result: [ 1 ] }
 * ```
 */
export function parseResponse(payload: Uint8Array): Response {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw violation("invalid_utf8", `response of ${payload.length} bytes is not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw violation("invalid_json", `response is not JSON (${(e as Error).message}): ${text.slice(0, 80)}`);
  }
  if (isOkShape(value) || isResponse(value)) return value;
  try {
    return decodeResponse(value);
  } catch (e) {
    throw violation("invalid_message", `response does not match the protocol: ${String(e)}: ${text.slice(0, 80)}`);
  }
}

/**
 * Check that a response is a hello of this protocol version and decode it.
 *
 * @example
 * ```ts
 * import { parseHello } from "molt";
 * const hello = parseHello({ id: 0, ok: true, result: { protocol: 1, pid: 9, python: "3.11.7", handler: "h.py", threads: 1, commands: ["ping"] } });
 * console.log(hello.pid); // 9
 * ```
 */
export function parseHello(response: Response): Hello {
  if (response.id !== 0 || !response.ok) {
    throw violation("invalid_message", `expected a hello frame (id 0, ok true), received ${JSON.stringify(response).slice(0, 200)}`);
  }
  let hello: Hello;
  try {
    hello = decodeHello(response.result);
  } catch (e) {
    throw violation("invalid_message", `hello frame does not match the protocol: ${String(e)}`);
  }
  if (hello.protocol !== PROTOCOL_VERSION) {
    throw violation("protocol_version", `worker speaks protocol ${hello.protocol}, this host speaks ${PROTOCOL_VERSION}`);
  }
  return hello;
}
