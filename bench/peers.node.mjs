// bench/peers.node.mjs: the pools a user would otherwise write, measured under
// Node (python-shell does not run on Bun: its stdin setEncoding fails there).
// python-shell in JSON mode (one process, answers matched first-in first-out)
// and generic-pool over python-shell (one call in flight per process).
// Prints one JSON line: { "pythonShell": msgs/s, "genericPool": msgs/s }.
//
//   node bench/peers.node.mjs <python> <count> <inFlight> <workers>
import genericPool from "generic-pool";
import { PythonShell } from "python-shell";
import { fileURLToPath } from "node:url";

const [python, countArg, inFlightArg, workersArg] = process.argv.slice(2);
const count = Number(countArg);
const inFlight = Number(inFlightArg);
const workers = Number(workersArg);
const script = fileURLToPath(new URL("./python_shell_echo.py", import.meta.url));
const payload = { text: "x".repeat(88) };

function shell() {
  const sh = new PythonShell(script, { mode: "json", pythonPath: python, pythonOptions: ["-u"] });
  const waiting = [];
  sh.on("message", (msg) => waiting.shift()(msg));
  return {
    call: (args) => new Promise((resolve) => {
      waiting.push(resolve);
      sh.send(args);
    }),
    end: () => new Promise((resolve) => sh.end(() => resolve())),
  };
}

async function rate(call) {
  for (let i = 0; i < 300; i++) await call(payload);
  let sent = 0;
  const t = performance.now();
  const lane = async () => {
    while (sent < count) {
      sent++;
      await call(payload);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return count / ((performance.now() - t) / 1000);
}

const one = shell();
const pythonShell = await rate(one.call);
await one.end();

const pool = genericPool.createPool({ create: async () => shell(), destroy: (s) => s.end() }, { min: workers, max: workers });
const genericRate = await rate(async (args) => {
  const s = await pool.acquire();
  try {
    return await s.call(args);
  } finally {
    await pool.release(s);
  }
});
await pool.drain();
await pool.clear();
console.log(JSON.stringify({ pythonShell: Math.round(pythonShell), genericPool: Math.round(genericRate) }));
