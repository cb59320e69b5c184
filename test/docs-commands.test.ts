/**
 * Every shell command in README.md and docs/**\/*.md runs as written: each
 * ```sh, ```bash or ```shell block (in a ```console block, the lines after
 * `$ `) runs as one bash script, line by line, in a scratch directory that
 * holds a SQLite store at ./.molt/molt.db with a real migration
 * ("summarizer-v2", in its first stage) that this process serves, the
 * example handlers (handler.py, handler_v1.py, handler_v2.py: the demo's
 * summarizer) and links to src/, bench/ and examples/. Each line must exit
 * 0, or the code its comment names (`# ... exit 1`, `# ... exit code 4`).
 *
 * - `molt` is the docs' alias (`npx bun src/cli/molt.ts --store ... --migration
 *   summarizer-v2`), on the scratch store; `npx bun`, `npx molt` and
 *   `bunx molt` run this repository's Bun and CLI (nothing is downloaded).
 *   $MOLT_MIGRATION is summarizer-v2, so that commands without
 *   --migration reach the same migration.
 * - A command that runs until stopped (`status --watch`, `inspect --live`,
 *   `dashboard`) is given `--timeout-ms 1000` (unless it has one) and must
 *   then exit 0; a dashboard listens on a free port (`--port 0` is added).
 *   Read-only commands (status, report, flags get, ...) given the same
 *   arguments again print what their first run printed: each distinct one
 *   runs once. No command runs longer than 30 s.
 * - Placeholders: the operator's store `postgres://ops@db/molt` stands for
 *   the scratch store; `<id>` is the migration's backup; `/path/to/v2/python3`
 *   is python3; a template's `{word}` (`{why}`, `{you}`: text a person fills
 *   in) is the word itself. Any other `<word>` in a command that runs fails
 *   the check: add it to PLACEHOLDERS or mark the block.
 *
 * A block that cannot run here says so on the line before it, with why:
 *
 * - `<!-- live-fleet: why -->`: it needs what the check does not provide: a
 *   fleet of processes, a node to stop, an inspector or a production store.
 * - `<!-- not-run: why -->`: it changes or reads the host outside the
 *   scratch directory (installs packages, the kernel log, other processes),
 *   or takes longer than this check's budget (the demo, the suite, benches).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fenced, fencedBlocks, markdownFiles, readDoc } from "./docs-markdown.ts";
import { type Migration, migrationReport } from "../mod.ts";
import { repoPath, spawnChild } from "./helpers.ts";
import { running } from "./cli/helpers.ts";

/** The markers a shell block may carry, and what each means. */
export const MARKERS: Readonly<Record<string, string>> = {
  "live-fleet": "needs a fleet, a node to stop, an inspector or a production store, which the check does not provide",
  "not-run": "changes or reads the host outside the scratch directory, or takes longer than the check's budget",
};

const MIGRATION = "summarizer-v2";
const TOKEN = "docs-check-token-0123456789";

/** What a placeholder in a command stands for in the scratch environment (`backupId`: the migration's backup). */
const PLACEHOLDERS = (backupId: string): ReadonlyArray<readonly [string, string]> => [
  ["postgres://ops@db/molt", "sqlite:./.molt/molt.db"],
  ["<id>", backupId],
  ["/path/to/v2/python3", "python3"],
];

/** A command with its placeholders filled: those of PLACEHOLDERS, and a template's `{word}` (free text a person fills in) as the word. */
export const filled = (code: string, placeholders: ReadonlyArray<readonly [string, string]>): string =>
  placeholders.reduce((s, [from, to]) => s.split(from).join(to), code).replace(/\{([a-z][\w-]*)\}/gi, "$1");

/** One command of a block: its line in the file, its text (continuation lines joined), and the exit code the doc implies. */
export interface Command {
  readonly line: number;
  readonly code: string;
  readonly exit: number;
}

/** A line's code and its trailing comment (a `#` outside quotes, at the start or after a space). */
export function splitComment(line: string): { code: string; comment: string } {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "\\") i++;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) return { code: line.slice(0, i).trimEnd(), comment: line.slice(i + 1).trim() };
  }
  return { code: line.trimEnd(), comment: "" };
}

/** The commands of a shell block. */
export function commands(block: Fenced): Command[] {
  const out: Command[] = [];
  const console = block.lang === "console";
  for (let i = 0; i < block.body.length; i++) {
    let text = block.body[i]!;
    const line = block.line + 1 + i;
    if (console) {
      if (!text.startsWith("$ ")) continue;
      text = text.slice(2);
    }
    while (text.endsWith("\\") && i + 1 < block.body.length) text = `${text.slice(0, -1)} ${block.body[++i]!.trim()}`;
    const { code, comment } = splitComment(text);
    if (code.trim() === "") continue;
    const exit = /\bexit(?: code)? (\d+)\b/.exec(comment);
    out.push({ line, code, exit: exit === null ? 0 : Number(exit[1]) });
  }
  return out;
}

/** A `<placeholder>` left in a command once filled, or null. */
export const leftoverPlaceholder = (code: string): string | null => /<[a-z][\w-]*>/i.exec(code)?.[0] ?? null;

/**
 * What every block's script starts with: the docs' alias, and `npx`, `bunx`
 * and `bun` as this repository provides them, stopping a command that runs
 * until stopped after 1 s.
 */
const PREAMBLE = `shopt -s expand_aliases
__cache=./.docs-check-cache; mkdir -p "$__cache"
alias molt='npx bun src/cli/molt.ts --store sqlite:./.molt/molt.db --migration ${MIGRATION}'
__check() { [ "$1" = "$2" ] || { echo "line $__at: exit $1, the doc implies exit $2" >&2; exit 1; }; }
npx() {
  case "$1" in
    bun) shift; bun "$@" ;;
    molt) shift; bun src/cli/molt.ts "$@" ;;
    *) echo "docs check: npx $1 is not provided here (only bun and molt)" >&2; return 127 ;;
  esac
}
bunx() { npx "$@"; }
# Nothing installs packages from here: a block that does is marked not-run.
__refuse() { echo "docs check: $* is not run here (mark the block not-run)" >&2; return 127; }
npm() { __refuse npm "$1"; }
pip() { __refuse pip "$1"; }
pip3() { __refuse pip3 "$1"; }
apt-get() { __refuse apt-get "$1"; }
deno() { case "$1" in add|install) __refuse deno "$1" ;; *) command deno "$@" ;; esac; }
bun() {
  case "$1" in add|install|i) __refuse bun "$1"; return ;; esac
  [ "$1" = src/cli/molt.ts ] || { "${process.execPath}" "$@"; return; }
  local verb="" a skip=1
  for a in "$@"; do
    if [ $skip -gt 0 ]; then skip=$((skip - 1)); continue; fi
    case "$a" in --store|--migration) skip=1 ;; -*) ;; *) [ -z "$verb" ] && verb="$a" ;; esac
  done
  local until=0
  case " $* " in *" --watch "*|*" --live "*) until=1 ;; esac
  [ "$verb" = dashboard ] && { until=1; set -- "$@" --port 0; }
  case " $* " in *" --timeout-ms "*) ;; *) [ $until = 1 ] && set -- "$@" --timeout-ms 1000 ;; esac
  # Read-only and run before with the same arguments: the same output again (each distinct command runs once).
  local key=""
  case "$verb" in status|report|python-path|inspect|flags|backup|dashboard|"") case " $* " in *" set "*|*" restore "*) ;; *) key="$__cache/$(printf '%s\n' "$@" | md5sum | cut -c1-32)" ;; esac ;; esac
  if [ -n "$key" ] && [ -f "$key.rc" ]; then cat "$key.out"; cat "$key.err" >&2; return "$(cat "$key.rc")"; fi
  local rc=0
  # No command may outlive its block: one that hangs is killed after 30 s.
  timeout -k 2 30 "${process.execPath}" "$@" >"$__cache/last.out" 2>"$__cache/last.err" || rc=$?
  cat "$__cache/last.out"; cat "$__cache/last.err" >&2
  if [ -n "$key" ]; then cp "$__cache/last.out" "$key.out"; cp "$__cache/last.err" "$key.err"; echo "$rc" >"$key.rc"; fi
  return $rc
}
`;

/** The bash script that runs a block's commands, each checked for the exit code its doc implies. */
export function script(cmds: readonly Command[], placeholders: ReadonlyArray<readonly [string, string]>): string {
  const body = cmds.map((c) => {
    return `__at=${c.line}\n${filled(c.code, placeholders)}\n__check $? ${c.exit}`;
  });
  return `${PREAMBLE}set -o pipefail\n${body.join("\n")}\n`;
}

/** The served migration back in an active rollout, whatever the block before did to it (paused, promoted, rolled back). */
async function activate(migration: Migration): Promise<void> {
  const p = migration.status();
  if (p.state === "rollout" && p.rollout?.state === "active") return;
  if (p.state === "rollout" && p.rollout?.state === "paused") return void (await migration.resume());
  if (p.state === "rollout" || p.state === "decommission") await migration.rollback("docs check: the next block starts from an active rollout");
  await migration.run();
}

const SHELL = ["sh", "bash", "shell", "console"];
const BLOCKS = markdownFiles().flatMap((f) => fencedBlocks(f, readDoc(f), SHELL));
const SCRATCH = repoPath(`.snippets/commands-${process.pid}`);
const TIMEOUT_MS = 60_000;

describe("docs commands", () => {
  let served: Awaited<ReturnType<typeof running>>;
  let placeholders: ReadonlyArray<readonly [string, string]>;

  beforeAll(async () => {
    rmSync(SCRATCH, { recursive: true, force: true });
    mkdirSync(join(SCRATCH, "tests"), { recursive: true });
    for (const name of ["handler.py", "handler_v1.py", "handler_v2.py"]) copyFileSync(repoPath("examples/summarizer.py"), join(SCRATCH, name));
    for (const dir of ["src", "bench", "examples"]) symlinkSync(repoPath(dir), join(SCRATCH, dir));
    // What python-handlers.md's `unittest discover tests/` finds: a handler's own test, importing molt.
    writeFileSync(join(SCRATCH, "tests/test_handler.py"), "import unittest\nfrom molt import command\n\n\nclass T(unittest.TestCase):\n    def test_imports(self):\n        self.assertTrue(callable(command))\n");
    served = await running(`sqlite:${join(SCRATCH, ".molt/molt.db")}`, true, { migrationId: MIGRATION, cooldownMs: 0 });
    const backups = await served.store.backups.list();
    placeholders = PLACEHOLDERS(backups[0]!.id);
    // The record the incident pages query with jq, as `molt report --format json --out record.json` writes it.
    writeFileSync(join(SCRATCH, "record.json"), await migrationReport(served.store, MIGRATION, { format: "json" }));
  }, 60_000);

  afterAll(async () => {
    await served?.stop();
    rmSync(SCRATCH, { recursive: true, force: true });
  });

  test("the checker reads commands, comments, exit codes and placeholders", () => {
    const [block] = fencedBlocks("x.md", "<!-- live-fleet: a node to stop -->\n```sh\nmolt status   # the table\nmolt decommission \\\n  --dry-run  # exit 1 while refused\necho '#not a comment'\n```\n", SHELL);
    expect(block!.marker).toEqual({ name: "live-fleet", why: "a node to stop" });
    expect(commands(block!)).toEqual([
      { line: 3, code: "molt status", exit: 0 },
      { line: 4, code: "molt decommission  --dry-run", exit: 1 },
      { line: 6, code: "echo '#not a comment'", exit: 0 },
    ]);
    const [session] = fencedBlocks("y.md", "```console\n$ molt flags get   # exit code 0\nflag  value\n```\n", SHELL);
    expect(commands(session!)).toEqual([{ line: 2, code: "molt flags get", exit: 0 }]);
    expect(filled(`molt backup restore <id> --reason "SEV{n}: {why}" | jq '{nodeId, role}'`, [["<id>", "b-1"]])).toBe(`molt backup restore b-1 --reason "SEVn: why" | jq '{nodeId, role}'`);
    expect([leftoverPlaceholder("pgrep -g <pgid>"), leftoverPlaceholder("sort < file")]).toEqual(["<pgid>", null]);
    expect(BLOCKS.length).toBeGreaterThan(20);
  });

  test("every marker is a known one and says why", () => {
    const bad = BLOCKS.filter((b) => b.marker !== null && (MARKERS[b.marker.name] === undefined || b.marker.why === ""))
      .map((b) => `${b.file}:${b.line}: <!-- ${b.marker!.name}: ${b.marker!.why} --> (the markers: ${Object.keys(MARKERS).join(", ")}, each with a reason)`);
    expect(bad).toEqual([]);
  });

  for (const block of BLOCKS) {
    if (block.marker !== null) continue;
    test(`${block.file}:${block.line} runs as written`, async () => {
      const cmds = commands(block);
      const left = cmds.flatMap((c) => {
        const p = leftoverPlaceholder(filled(c.code, placeholders));
        return p === null ? [] : [`${block.file}:${c.line}: placeholder ${p} (add it to PLACEHOLDERS or mark the block)`];
      });
      expect(left).toEqual([]);
      await activate(served.migration);
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${repoPath("node_modules/.bin")}:${process.env.PATH}`, MOLT_MIGRATION: MIGRATION, MOLT_DASHBOARD_TOKEN: TOKEN, MOLT_FLAG_POOL_V2_SHARE: "", NO_COLOR: "1" };
      delete env.MOLT_STORE;
      const child = spawnChild(["bash", "-c", script(cmds, placeholders)], { cwd: SCRATCH, env });
      const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
      const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      clearTimeout(timer);
      expect({ block: `${block.file}:${block.line}`, code, err: code === 0 ? "" : `${err.slice(-1500)}\n(stdout) ${out.slice(-500)}` }).toEqual({ block: `${block.file}:${block.line}`, code: 0, err: "" });
    }, TIMEOUT_MS + 10_000);
  }
});
