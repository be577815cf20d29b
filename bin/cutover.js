#!/usr/bin/env node
// Entry point of the published CLI: the compiled program lives in dist/ (built by `npm run build`,
// which `npm ci` runs through the prepare script).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
