/**
 * `molt dashboard`: serve the web dashboard of the migration named by the
 * global `--migration`, from the store named by `--store`, until
 * interrupted (Ctrl-C, SIGTERM). Read-only unless a token is given with
 * `--token` or MOLT_DASHBOARD_TOKEN.
 *
 * @module
 */
import { type Command, Option } from "commander";
import { isMoltError } from "../errors.ts";
import { DEFAULT_DASHBOARD_PORT, resolveListenOptions } from "../dashboard/options.ts";
import { startDashboard } from "../dashboard/server.ts";
import { openStore } from "../store/store.ts";
import { durationArg } from "./options.ts";
import { stopWhenAsked } from "./stop-signal.ts";

interface DashboardFlags {
  host: string;
  port: string;
  token?: string;
  pollMs: string;
  timeoutMs?: number;
}

/**
 * Add `molt dashboard` to the molt program (which holds the global
 * `--store` and `--migration` options).
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerDashboard } from "./dashboard-command.ts";
 * const program = new Command("molt").option("--store <url>").option("--migration <id>");
 * registerDashboard(program);
 * console.log(program.commands.map((c) => c.name())); // [ "dashboard" ]
 * ```
 */
export function registerDashboard(program: Command): void {
  program.command("dashboard")
    .description("Serve a live web dashboard of the migration: machines, charts per arm, decisions, fleet, validations, mismatches; operator actions with --token.")
    .addOption(new Option("--host <address>", "the address to listen on (0.0.0.0 or :: opens it to the network: give a token and put TLS in front)").default("127.0.0.1"))
    .addOption(new Option("--port <n>", "the TCP port (0 takes a free one)").default(String(DEFAULT_DASHBOARD_PORT)))
    .addOption(new Option("--token <secret>", "enables operator actions for whoever gives it (16+ characters); without it the dashboard is read-only").env("MOLT_DASHBOARD_TOKEN"))
    .addOption(new Option("--poll-ms <ms>", "how often the store is read for changes while a page is open").default("250"))
    .option("--timeout-ms <ms>", "stop after this long (default: never; Ctrl-C ends it)", durationArg())
    .action(async (flags: DashboardFlags, command: Command) => {
      const globals = command.optsWithGlobals<{ store: string; migration: string }>();
      const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: 2 });
      // Every option is checked before the store is opened or anything listens; an empty MOLT_DASHBOARD_TOKEN is no token.
      const asNumber = (text: string): number | string => (/^\d+$/.test(text) ? Number(text) : text);
      let listen: ReturnType<typeof resolveListenOptions>;
      try {
        listen = resolveListenOptions({ host: flags.host, port: asNumber(flags.port) as number, token: flags.token === "" ? undefined : flags.token, pollMs: asNumber(flags.pollMs) as number });
      } catch (e) {
        return usage(isMoltError(e) ? e.message.replace(/^dashboard: (\w+)/, (_, o: string) => `--${o.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`) : String(e));
      }
      // A dashboard only reads: a mistyped path must not leave an empty database behind.
      const store = await openStore(globals.store, { create: false });
      let dashboard;
      try {
        dashboard = await startDashboard({ store, migrationId: globals.migration, ...listen, token: listen.token ?? undefined });
      } catch (e) {
        await store.close();
        throw e;
      }
      console.log(`molt dashboard of migration "${globals.migration}" (${store.location}): ${dashboard.url}`);
      console.log(dashboard.readOnly ? "read-only: no token given (--token or MOLT_DASHBOARD_TOKEN enables actions)" : "actions enabled for whoever gives the token");
      if (!/^(127\.|::1$|localhost$)/.test(listen.host)) console.warn(`warning: listening on ${listen.host}: anyone who can reach it reads the migration; serve it behind TLS`);
      const { signal, dispose } = stopWhenAsked(flags.timeoutMs);
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      dispose();
      await dashboard.close();
      await store.close();
      console.log("dashboard stopped");
    });
}
