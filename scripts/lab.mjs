#!/usr/bin/env node
// The local lab: two real Kubernetes clusters (blue, green) and moto_server on loopback.
//   node scripts/lab.mjs up       start (build and venv when needed); harmless when already up
//   node scripts/lab.mjs down     stop every lab process by pid
//   node scripts/lab.mjs status   show what runs; exit 0 only when everything is healthy
// See docs/lab.md.
import { down, status, up } from './lab/commands.mjs';
import { LabError } from './lab/wait.mjs';

const commands = { up, down, status };
const name = process.argv[2] ?? '';
const command = commands[name];

if (!command) {
  console.error(`usage: node scripts/lab.mjs ${Object.keys(commands).join('|')} (got "${name}")`);
  process.exitCode = 2;
} else {
  try {
    process.exitCode = await command();
  } catch (err) {
    console.error(err instanceof LabError ? `lab ${name}: ${err.message}` : err);
    process.exitCode = 1;
  }
}
