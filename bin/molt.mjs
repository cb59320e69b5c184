#!/usr/bin/env node
// The `molt` command of the npm package: the compiled CLI (see src/cli/molt.ts).
import "../dist/src/cli/molt.js";
