/**
 * How the CLI writes: tables for people, JSON for scripts, colour only for
 * a terminal. Colour follows https://no-color.org: never with NO_COLOR set
 * (to anything but ""), never into a pipe or a file.
 *
 * @module
 */
import Table from "cli-table3";

/** True when output may carry ANSI colour: stdout is a terminal and NO_COLOR is unset or empty. */
export function colourful(stream: { readonly isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? "") === "";
}

/** A cli-table3 table, styled (coloured heads and borders) only when {@link colourful}. */
export function table(options: ConstructorParameters<typeof Table>[0] = {}): InstanceType<typeof Table> {
  return new Table(colourful() ? options : { ...options, style: { ...options.style, head: [], border: [] } });
}

/** Print a value as indented JSON: the `--json` form of every read command. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
