#!/usr/bin/env bash
# The suite under Node 22.13, the oldest Node molt supports: the same test
# files as `bun test`, with bun:test provided by test/node/bun-test.ts (on
# node:test and Jest's expect), the test files run by Node's own type
# transform, and molt itself as compiled into dist/ by scripts/build.mjs. Node comes from the registry's node-linux-<arch> package into a
# temporary folder (scripts/fetch-node.sh), not from devDependencies.
# Extra arguments (files, --test-name-pattern=...) go to `node --test`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
node22="$("$repo/scripts/fetch-node.sh" 22.13.1 "$work")"
cd "$repo"
# molt's modules run compiled (test/node/hooks.mjs maps them to dist/): as the npm package gives them to Node.
node scripts/build.mjs
# By default the files that run molt's runtime-dependent code in this process (workers and processes on
# node:child_process, the store on Node's node:sqlite and on PostgreSQL, flags, routing, pools, a
# migration and the dashboard's HTTP side). The CLI under Node is scripts/install-test.sh's: from the
# packed package, as users run it (test/cli/operator.test.ts started it 20 times, 1.1 s of CPU each,
# beside the Bun suite in CI; name it to run it). --all runs every file
# (children of the suite then start under Node too, about 2 s each, which makes it take several times
# longer); file names or globs run those.
if [ $# -eq 0 ]; then
  set -- "test/worker/*.test.ts" "test/process/*.test.ts" "test/protocol/*.test.ts" "test/flags/*.test.ts" \
    "test/store/contract.test.ts" "test/store/sqlite-transaction.test.ts" "test/store/sqlite-lock.test.ts" "test/store/backup-restore.test.ts" \
    "test/routing/*.test.ts" "test/pool/basic.test.ts" "test/pool/enhanced.test.ts" "test/migration/migration.test.ts" \
    "test/dashboard/http.test.ts" "test/runtime.test.ts"
elif [ "$1" = "--all" ]; then
  shift
  set -- "test/**/*.test.ts" "$@"
fi
# --test-force-exit: as under Bun, a file ends when its tests do, even if a
# failed test left a handle open; the leak shows as that test's failure.
PATH="$node22:$PATH" node --experimental-transform-types --no-warnings --import "$repo/test/node/register.mjs" \
  --test --test-force-exit --test-concurrency=1 --test-reporter=spec "$@"
