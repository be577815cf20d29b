#!/usr/bin/env node
// Entry point of the published CLI: the compiled program lives in dist/ (built by `npm run build`,
// which `npm ci` runs through the prepare script).
// The AWS SDK warns on every command that a future release will drop Node 20; cutover pins SDK versions
// that support it, so the warning is noise in an operator's terminal.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv);
