/**
 * Programs live on the host: a definition (a signature plus a handler
 * command, or a DSPy module) is validated here, stored in the store, and
 * sent with every `execute_program` call, so whichever pool serves a session
 * runs the same program. Workers only cache compiled programs by id and
 * content hash.
 *
 * @module
 */
import * as Result from "effect/Result";
import * as Schema from "effect/Schema";
import { ProgramError } from "../errors.ts";

/**
 * A program definition, as a Schema.
 *
 * @example
 * ```ts
 * import { Schema } from "effect";
 * import { ProgramDefinition } from "molt";
 * console.log(Schema.is(ProgramDefinition)({ signature: "question -> answer", handler: "qa" })); // true
 * ```
 */
export const ProgramDefinition: Schema.Codec<ProgramDefinition> = Schema.Struct({
  signature: Schema.String.check(Schema.isPattern(/^\s*[A-Za-z_][\w]*(\s*,\s*[A-Za-z_][\w]*)*\s*->\s*[A-Za-z_][\w]*(\s*,\s*[A-Za-z_][\w]*)*\s*$/)),
  handler: Schema.optional(Schema.NonEmptyString),
  dspy: Schema.optional(Schema.Struct({ module: Schema.Literals(["Predict", "ChainOfThought"]) })),
  description: Schema.optional(Schema.String),
});
/** A program definition. */
export type ProgramDefinition = {
  /** `"question, context -> answer"`: input fields, then output fields. */
  readonly signature: string;
  /** A command the workers serve, called with the inputs. */
  readonly handler?: string | undefined;
  /** A DSPy module, where `dspy` is importable in the worker's Python. */
  readonly dspy?: { readonly module: "Predict" | "ChainOfThought" } | undefined;
  readonly description?: string | undefined;
};

const decode = Schema.decodeUnknownResult(ProgramDefinition);

/** The definition, validated: a bad one is a ProgramError naming what is wrong. */
export function checkDefinition(programId: string, definition: unknown): ProgramDefinition {
  const r = decode(definition);
  if (Result.isFailure(r)) throw new ProgramError({ programId, reason: `invalid definition: ${r.failure.message.replace(/\s*\n\s*/g, " ")}` });
  const d = r.success;
  if ((d.handler === undefined) === (d.dspy === undefined)) {
    throw new ProgramError({ programId, reason: 'invalid definition: give exactly one of "handler" or "dspy"' });
  }
  return d;
}

/** The id of a new program: a given one, or a fresh one. */
export function programId(given: string | undefined): string {
  if (given === undefined) return `program-${crypto.randomUUID()}`;
  if (typeof given !== "string" || !/^[\w.:-]{1,128}$/.test(given)) {
    throw new ProgramError({ programId: String(given), reason: "an id must be 1–128 letters, digits, '_', '.', ':' or '-'" });
  }
  return given;
}
