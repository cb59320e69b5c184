/**
 * `molt inspect`: the machines as the Stately visualiser imports them, the
 * live snapshots of a migration, and (`--live`) its actors' inspection
 * events as @statelyai/inspect sends them, for a statechart inspector.
 *
 * @module
 */
import { createInspector, type StatelyInspectionEvent } from "@statelyai/inspect";
import { type Command, Option } from "commander";
import { breakerMachine, MIGRATION_MACHINE_VERSION, migrationMachine, poolMachine, ROLLOUT_MACHINE_VERSION, rolloutMachine, workerMachine } from "../../machines/mod.ts";
import { readMigration } from "../migration/inspect.ts";
import { inspectLive } from "../migration/live-inspect.ts";
import { CommandFailure, unknownMigration, withStore } from "./context.ts";
import { durationArg } from "./options.ts";
import { printJson } from "./output.ts";
import { stopWhenAsked } from "./stop-signal.ts";
import { WebSocketInspectorAdapter } from "./ws-inspector.ts";

const MACHINES = { worker: workerMachine, pool: poolMachine, breaker: breakerMachine, rollout: rolloutMachine, migration: migrationMachine } as const;

interface InspectFlags {
  machines?: boolean;
  snapshots?: boolean;
  machine?: keyof typeof MACHINES;
  live?: boolean;
  ws?: string;
  intervalMs: number;
  timeoutMs?: number;
}

/**
 * Add `molt inspect` to the molt program (which holds the global `--store`
 * and `--migration` options).
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerInspect } from "./inspect-command.ts";
 * const program = new Command("molt").option("--store <url>").option("--migration <id>");
 * registerInspect(program);
 * console.log(program.commands.map((c) => c.name())); // [ "inspect" ]
 * ```
 */
export function registerInspect(program: Command): void {
  program.command("inspect").description("Print the machine definitions (JSON for the Stately visualiser) and the live snapshots; --live streams the actors' inspection events.")
    .option("--machines", "only the machine definitions").option("--snapshots", "only the live snapshots")
    .addOption(new Option("--machine <name>", "one machine's definition, as JSON the Stately visualiser (stately.ai/viz) imports; needs no store").choices(Object.keys(MACHINES)))
    .addOption(new Option("--live", "stream the migration's and the rollout's inspection events (@statelyai/inspect's format), a JSON line each, until Ctrl-C").conflicts(["machines", "snapshots", "machine"]))
    .option("--ws <url>", "with --live: send the events to this WebSocket inspector (ws:// or wss://) instead of printing them")
    .option("--interval-ms <ms>", "with --live: how often the store is read", durationArg(), 500)
    .option("--timeout-ms <ms>", "with --live: stop after this long (default: never; Ctrl-C ends it)", durationArg())
    .action((o: InspectFlags) => {
      if (o.machine !== undefined) return printJson(MACHINES[o.machine].toJSON());
      if (o.live === true) return live(program, o);
      if (o.ws !== undefined) throw new CommandFailure("--ws needs --live");
      return withStore(program, async (store, g) => {
        const out: Record<string, unknown> = {};
        if (!o.snapshots) {
          out.machines = {
            migration: { version: MIGRATION_MACHINE_VERSION, config: migrationMachine.config },
            rollout: { version: ROLLOUT_MACHINE_VERSION, config: rolloutMachine.config },
          };
        }
        if (!o.machines) {
          const m = await readMigration(store, g.migration);
          if (m.migration === null && m.rollout === null) throw new CommandFailure(await unknownMigration(store, g.migration), 1);
          out.snapshots = { migration: m.migration, rollout: m.rollout };
        }
        printJson(out);
      }, { create: false });
    });
}

function live(program: Command, o: InspectFlags): Promise<void> {
  if (o.ws !== undefined && !/^wss?:\/\/\S+$/.test(o.ws)) {
    throw new CommandFailure(`option '--ws <url>' argument '${o.ws}' is invalid: a ws:// or wss:// URL`);
  }
  return withStore(program, async (store, g) => {
    // A migration that does not exist yet is waited for (the watch may start first); a store that does not exist is an error.
    const inspector = o.ws === undefined
      ? createInspector({ send: (e: StatelyInspectionEvent) => console.log(JSON.stringify(e)) })
      : createInspector(new WebSocketInspectorAdapter(o.ws, (to) => console.error(`molt inspect: no inspector is listening at ${to}; trying again every second`)));
    inspector.start();
    const { signal, dispose } = stopWhenAsked(o.timeoutMs);
    try {
      await inspectLive({ store, migrationId: g.migration, inspect: inspector.inspect, signal, intervalMs: o.intervalMs });
    } finally {
      dispose();
      // The inspector hands events on in a later tick: let the last ones out before the socket closes.
      await new Promise((resolve) => setTimeout(resolve, 50));
      inspector.stop();
    }
  }, { create: false });
}
