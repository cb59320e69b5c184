/**
 * `molt completion bash|zsh|fish`: a completion script made from the
 * commands and options the CLI itself defines, so it cannot fall behind.
 *
 * @module
 */
import { type Command, Option } from "commander";

/** A command's path below `molt` ("" for molt itself), its subcommands and its long options. */
interface Level {
  readonly path: readonly string[];
  readonly commands: readonly { readonly name: string; readonly description: string }[];
  readonly options: readonly { readonly flag: string; readonly description: string; readonly choices: readonly string[] }[];
}

function levels(command: Command, path: readonly string[] = []): Level[] {
  const options = [...command.options, new Option("--help", "show help")].filter((o) => o.long !== undefined)
    .map((o) => ({ flag: o.long!, description: o.description, choices: o.argChoices ?? [] }));
  const commands = command.commands.map((c) => ({ name: c.name(), description: c.description() }));
  return [{ path, commands, options }, ...command.commands.flatMap((c) => levels(c, [...path, c.name()]))];
}

const quote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

function bash(root: Command): string {
  const all = levels(root);
  const known = all.filter((l) => l.path.length > 0).map((l) => `"${l.path.join(" ")}"`).join("|");
  const cases = all.map((l) => `    "${l.path.join(" ")}") words=${quote([...l.commands.map((c) => c.name), ...l.options.map((o) => o.flag)].join(" "))} ;;`);
  const choices = all.flatMap((l) => l.options.filter((o) => o.choices.length > 0).map((o) => `    ${o.flag}) COMPREPLY=($(compgen -W ${quote(o.choices.join(" "))} -- "$cur")); return ;;`));
  return `# molt completion for bash: eval "$(molt completion bash)", or save it in your bash-completion directory.
_molt_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" next words i
  case "$prev" in
${[...new Set(choices)].join("\n")}
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    next="\${path:+$path }\${COMP_WORDS[i]}"
    case "$next" in
      ${known || '""'}) path="$next" ;;
    esac
  done
  case "$path" in
${cases.join("\n")}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _molt_complete molt
`;
}

function zsh(root: Command): string {
  // zsh runs bash completion functions through bashcompinit: one script to keep right.
  return `#compdef molt
# molt completion for zsh: eval "$(molt completion zsh)" in ~/.zshrc.
autoload -U +X bashcompinit && bashcompinit
${bash(root).split("\n").slice(1).join("\n")}`;
}

function fish(root: Command): string {
  const lines = ["# molt completion for fish: molt completion fish > ~/.config/fish/completions/molt.fish", "complete -c molt -f"];
  for (const l of levels(root)) {
    // Seen every word of the path, and none of this level's own subcommands yet.
    const seen = l.path.map((w) => `__fish_seen_subcommand_from ${w}`);
    const condition = l.path.length === 0 ? "__fish_use_subcommand" : [...seen, ...(l.commands.length > 0 ? [`not __fish_seen_subcommand_from ${l.commands.map((c) => c.name).join(" ")}`] : [])].join("; and ");
    for (const c of l.commands) lines.push(`complete -c molt -n ${quote(condition)} -a ${c.name} -d ${quote(c.description.split(/[.:]/)[0]!)}`);
    for (const o of l.options) {
      const values = o.choices.length > 0 ? ` -x -a ${quote(o.choices.join(" "))}` : "";
      lines.push(`complete -c molt -n ${quote(l.path.length === 0 ? "true" : seen.join("; and "))} -l ${o.flag.slice(2)}${values} -d ${quote(o.description)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

const SHELLS = { bash, zsh, fish } as const;

/** `molt completion <shell>`. */
export function registerCompletion(program: Command): void {
  program.command("completion").description("Print a shell completion script: eval \"$(molt completion bash)\" (or zsh; fish: molt completion fish | source).")
    .addArgument(program.createArgument("<shell>", "bash, zsh or fish").choices(Object.keys(SHELLS)))
    .action((shell: keyof typeof SHELLS) => void process.stdout.write(SHELLS[shell](program)));
}
