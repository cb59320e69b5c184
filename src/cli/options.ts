/**
 * Option values checked as commander parses them: a bad value is a usage
 * error (exit 2) naming the option, the value and what is allowed, before
 * the command does anything.
 *
 * @module
 */
import { InvalidArgumentError } from "commander";
import { positiveDuration, positiveInt, type Rule } from "../config.ts";

/** A number checked by `rule` (`--next-update`, ...). */
export function numberArg(rule: Rule<number>): (text: string) => number {
  return (text) => {
    const value = text.trim() === "" ? Number.NaN : Number(text);
    if (!rule.is(value)) throw new InvalidArgumentError(`it must be ${rule.allowed}.`);
    return value;
  };
}

/** A duration in whole milliseconds, at least 1 (`--wait-ms`, `--interval-ms`, ...). */
export const durationArg = (): ((text: string) => number) => numberArg(positiveDuration);

/** A whole number of at least 1 (`--size`, `--users`, ...). */
export const countArg = (): ((text: string) => number) => numberArg(positiveInt);
