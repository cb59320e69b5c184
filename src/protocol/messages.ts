/**
 * Wire protocol v1 messages, defined once with Schema.
 *
 * @module
 */
import * as Schema from "effect/Schema";
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
 * The minor version this host speaks: features a worker announces in its
 * hello and the host uses only when it does. 1: cancel frames, async
 * handlers; 2: streamed calls; 3: bytes as binary attachments (the host
 * passes its own minor to the worker, `--host-minor`, so that the worker
 * sends them only to a host that reads them). A worker that says no minor
 * is minor 0 and keeps working.
 *
 * @example
 * ```ts
 * import { PROTOCOL_MINOR } from "molt";
 * console.log(PROTOCOL_MINOR); // 3
 * ```
 */
export const PROTOCOL_MINOR = 3;

/**
 * The frame that cancels request `cancel` (minor 1): sent when its caller
 * aborts or its deadline passes. A cancel for a call already answered is
 * ignored.
 *
 * @example
 * ```ts
 * import { Schema } from "effect";
 * import { Cancel } from "molt";
 * console.log(Schema.is(Cancel)({ cancel: 7 })); // true
 * ```
 */
export const Cancel: Schema.Codec<Cancel> = Schema.Struct({ cancel: Schema.Int.check(Schema.isGreaterThan(0)) });
/** The frame that cancels request `cancel` (minor 1). */
export type Cancel = { readonly cancel: number };

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
  window: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  attachments: Schema.optionalKey(Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))),
});
/** A request frame the host writes. */
export type Request = {
  readonly id: number;
  readonly command: string;
  readonly args: unknown;
  readonly deadline_ms?: number;
  readonly session?: string;
  /** Minor 2: stream the answer, at most this many chunks ahead of the host's credit. */
  readonly window?: number;
  /**
   * Minor 3: the lengths of the raw frames that follow this one, the bytes
   * in `args`, each named there by a placeholder `{"$molt.bytes": i}`. An
   * answer or chunk from the worker carries the same field for its bytes.
   */
  readonly attachments?: readonly number[];
};

/**
 * One item a streaming handler yielded (minor 2), for request `id`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect";
 * import { Chunk } from "molt";
 * console.log(Schema.is(Chunk)({ id: 4, chunk: "token" })); // true
 * ```
 */
export const Chunk: Schema.Codec<Chunk> = Schema.Struct({ id: Schema.Int.check(Schema.isGreaterThan(0)), chunk: Schema.Unknown });
/** One item a streaming handler yielded (minor 2). */
export type Chunk = { readonly id: number; readonly chunk: unknown };

/**
 * The end of stream `id` (minor 2): `end` chunks were sent. A stream that
 * fails ends with an ErrorResponse instead.
 *
 * @example
 * ```ts
 * import { Schema } from "effect";
 * import { StreamEnd } from "molt";
 * console.log(Schema.is(StreamEnd)({ id: 4, end: 12 })); // true
 * ```
 */
export const StreamEnd: Schema.Codec<StreamEnd> = Schema.Struct({ id: Schema.Int.check(Schema.isGreaterThan(0)), end: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)) });
/** The end of stream `id` (minor 2). */
export type StreamEnd = { readonly id: number; readonly end: number };

/**
 * The host's credit for stream `credit` (minor 2): it took `n` chunks and
 * has room for `n` more.
 *
 * @example
 * ```ts
 * import { Schema } from "effect";
 * import { Credit } from "molt";
 * console.log(Schema.is(Credit)({ credit: 4, n: 8 })); // true
 * ```
 */
export const Credit: Schema.Codec<Credit> = Schema.Struct({ credit: Schema.Int.check(Schema.isGreaterThan(0)), n: Schema.Int.check(Schema.isGreaterThan(0)) });
/** The host's credit for stream `credit` (minor 2). */
export type Credit = { readonly credit: number; readonly n: number };

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
  minor: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  pid: Schema.Int,
  python: Schema.String,
  handler: Schema.String,
  threads: Schema.Int,
  concurrency: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  commands: Schema.Array(Schema.String),
  shared_memory: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
});
/** The first frame a worker writes: id 0, describing itself. */
export type Hello = {
  readonly protocol: number;
  /** Absent from a minor-0 worker. */
  readonly minor?: number;
  readonly pid: number;
  readonly python: string;
  readonly handler: string;
  readonly threads: number;
  /** Async calls the worker runs at once; absent from a minor-0 worker. */
  readonly concurrency?: number;
  readonly commands: readonly string[];
  /** The descriptor of the shared rings it made (`sharedMemoryBytes`), for the host to map through /proc; absent when it made none. */
  readonly shared_memory?: number;
};

const isResponse = Schema.is(Response);
const isChunk = Schema.is(Chunk);
const isStreamEnd = Schema.is(StreamEnd);

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
  const frame = parseFrame(payload);
  if ("ok" in frame) return frame;
  throw violation("invalid_message", `expected a response, received a stream frame for request ${frame.id}`);
}

/**
 * Decode any frame a worker writes: a response, or (minor 2) a stream's
 * chunk or end. Anything else is a ProtocolError, as for parseResponse.
 *
 * @example
 * ```ts
 * import { parseFrame } from "molt";
 * console.log(parseFrame(new TextEncoder().encode('{"id":2,"chunk":"a"}'))); // { id: 2, chunk: "a" }
 * ```
 */
export function parseFrame(payload: Uint8Array): Response | Chunk | StreamEnd {
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
  if (typeof value === "object" && value !== null && !("ok" in value)) {
    if ("chunk" in value && isChunk(value)) return value;
    if ("end" in value && isStreamEnd(value)) return value;
  }
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
