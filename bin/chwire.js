#!/usr/bin/env node
// The `chwire` command (see `chwire --help`); the code is in dist/cli/main.js (npm run build).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
