/** The number after `--name` on the command line, or `fallback` when the flag is absent. */
export function numberFlag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at === -1) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, received ${JSON.stringify(process.argv[at + 1])}`);
  return value;
}
