/**
 * A request nested deeper than Python's JSON decoder goes (RecursionError,
 * not ValueError) is refused with its id, and the worker goes on serving —
 * sent as raw frames, past the host's own refusal of such arguments, as any
 * other client of the protocol could.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { Deframer } from "../../mod.ts";
import { spawnChild } from "../../src/process/child.ts";
import { resolvePython } from "../../src/process/python.ts";
import { pythonPackageDir } from "../../src/process/python-package.ts";
import { concat, fixture, PROCESS_TEST_TIMEOUT_MS } from "../helpers.ts";

setDefaultTimeout(PROCESS_TEST_TIMEOUT_MS);

test("10,000 levels of nesting: an InvalidJSON error for that request, then the next is served", async () => {
  const answers: { id: number | null; ok: boolean; error?: { type: string } }[] = [];
  const deframer = new Deframer();
  let wake: () => void = () => {};
  const child = await spawnChild({
    argv: [await resolvePython("python3"), "-m", "molt.worker", "--handler", fixture("echo_handler.py")],
    env: { ...process.env as Record<string, string>, PYTHONPATH: await pythonPackageDir() },
    cwd: undefined,
    onStdout: (chunk) => deframer.push(chunk, (p) => (answers.push(JSON.parse(new TextDecoder().decode(p))), wake())),
    onStderr: () => {},
  });
  const next = async (): Promise<(typeof answers)[number]> => {
    while (answers.length === 0) await new Promise<void>((r) => (wake = r));
    return answers.shift()!;
  };
  const send = (text: string): void => {
    const payload = new TextEncoder().encode(text);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, payload.length);
    child.write(concat([header, payload]));
  };
  expect((await next()).id).toBe(0);
  send(`{"id":7,"command":"echo","args":${"[".repeat(10_000)}${"]".repeat(10_000)}}`);
  expect(await next()).toMatchObject({ id: 7, ok: false, error: { type: "InvalidJSON" } });
  send(`{"id":8,"command":"ping","args":null}`);
  expect(await next()).toMatchObject({ id: 8, ok: true });
  child.closeStdin();
  expect(await child.exited).toEqual({ exitCode: 0, signal: null });
});
