#!/usr/bin/env bash
# The npm package as a user gets it: pack it, install it into a fresh app in
# a temporary folder (nothing of the repository but the tarball and the
# runtimes' binaries), and there run `npx molt --help`, the README's first
# example and a smoke of everything (test/app-smoke.ts: worker, pool, store,
# flags, router, a migration to decommission, the CLI) under Node 22.13 (from
# the registry's node-linux-<arch> package, into the same temporary folder),
# Bun and Deno; under Node 20 (also from the registry), importing molt and
# running `molt` must fail at once, naming the runtime.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say() { printf '%s\n' "install-test: $*" >&2; }
# label, then the command; each bounded, so that a hang fails CI instead of holding it.
run() { local label=$1 t0; shift; t0=$(date +%s%N); timeout 300 "$@"; say "$label: $(( ($(date +%s%N) - t0) / 1000000 )) ms"; }

node22="$("$repo/scripts/fetch-node.sh" 22.13.1 "$work")"
node20="$("$repo/scripts/fetch-node.sh" 20.19.0 "$work")"
bun="$repo/node_modules/.bin/bun"
deno="$repo/node_modules/.bin/deno"
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$work" | tail -1)"
say "packed $tarball: $(du -k "$work/$tarball" | cut -f1) KiB, $(tar tzf "$work/$tarball" | wc -l) files"

app="$work/app"
mkdir "$app" && cd "$app"
npm init -y >/dev/null && npm pkg set type=module
npm install --silent --no-audit --no-fund "$work/$tarball"
say "installed: $(du -sk node_modules | cut -f1) KiB of node_modules"
cp "$repo/examples/summarizer.py" handler.py
# The README's first TypeScript block, as written.
awk '/^```ts/{n++; if (n==1) {p=1; next}} /^```/{if (p) exit} p' "$repo/README.md" > first.ts
grep -q spawnWorker first.ts
cp "$repo/test/app-smoke.ts" smoke.ts

PATH="$node22:$PATH" run "npx molt --help (Node 22)" npx molt --help > help.txt
grep -q "^Usage: molt" help.txt
PATH="$node22:$PATH" run "first example (Node 22)" node --experimental-strip-types first.ts
run "first example (Bun)" "$bun" first.ts
run "first example (Deno)" "$deno" run --allow-run --allow-read --allow-env first.ts
PATH="$node22:$PATH" run "smoke (Node 22)" node --experimental-strip-types smoke.ts
PATH="$node22:$PATH" run "smoke (Bun)" "$bun" smoke.ts
PATH="$node22:$PATH" run "smoke (Deno)" "$deno" run --allow-all smoke.ts
PATH="$node22:$PATH" run "import molt (Node 22)" node -e 'await import("molt")'
run "import molt (Bun)" "$bun" -e 'await import("molt")'
run "import molt (Deno)" "$deno" eval 'await import("molt")'

# Node 20 is too old: importing molt, or running molt, says so and what is needed.
refused() {
  local out
  if out="$(PATH="$node20:$PATH" timeout 120 "$@" 2>&1)"; then say "Node 20 ran: $*"; exit 1; fi
  grep -q "molt does not run on Node.js 20.19.0: it needs Node.js 22.13 or later" <<<"$out" || { printf '%s\n' "$out"; exit 1; }
}
refused node --input-type=module -e 'await import("molt")'
refused npx molt --help
say "Node 20.19.0 refused (import and the molt command) with the runtime's name and what is needed"
say "ok"
