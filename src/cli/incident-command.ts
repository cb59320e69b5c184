/**
 * `molt incident notice|update|resolved`: the incident's messages filled
 * from the record of the migration named by the global `--migration`.
 * Exit 1 when the record holds no incident, or for "resolved" while
 * something is still open (what is open goes to stderr).
 *
 * @module
 */
import { type Command, Option } from "commander";
import { readIncident } from "../migration/incident.ts";
import { incidentMessage, type IncidentMessageFormat, type IncidentMessageKind, nextUpdateRule } from "../migration/incident-messages.ts";
import { CommandFailure, unknownMigration, withStore } from "./context.ts";
import { numberArg } from "./options.ts";

/**
 * Add `molt incident` to the molt program (which holds the global
 * `--store` and `--migration` options).
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerIncident } from "./incident-command.ts";
 * const program = new Command("molt").option("--store <url>").option("--migration <id>");
 * registerIncident(program);
 * console.log(program.commands.map((c) => c.name())); // [ "incident" ]
 * ```
 */
export function registerIncident(program: Command): void {
  program.command("incident")
    .description("Print the incident's first notice, an update, or the all-clear, filled from the migration's record (exit 1: no incident in the record, or not resolved yet).")
    .addArgument(program.createArgument("<kind>", "notice, update or resolved").choices(["notice", "update", "resolved"]))
    .addOption(new Option("--format <format>", "text, md (markdown), or json (the filled fields)").choices(["text", "md", "json"]).default("text"))
    .addOption(new Option("--next-update <minutes>", "minutes to the next update, 1 to 1440").argParser(numberArg(nextUpdateRule)).default(30))
    .action((kind: IncidentMessageKind, o: { format: IncidentMessageFormat; nextUpdate: number }) =>
      withStore(program, async (store, g) => {
        const r = await readIncident(store, g.migration);
        if (r.record.migration === null && r.record.rollout === null) throw new CommandFailure(await unknownMigration(store, g.migration), 1);
        const message = incidentMessage(r, kind, { format: o.format, nextUpdateMinutes: o.nextUpdate });
        if ("refused" in message) throw new CommandFailure(message.refused, 1);
        console.log(message.text);
      }, { create: false })
    );
}
