#!/usr/bin/env node
// Entry point. `--version` is answered here without loading the agent, so it stays fast. The agent
// itself is the bundle `npm run build` writes (dist/bundle/): one file to compile instead of
// hundreds of modules to resolve, which is most of a one-shot run's start-up.
import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`mgmt ${pkg.version}\n`);
} else {
  const { main } = await import('../dist/bundle/main.js');
  const code = await main(argv);
  // stdout and stderr are synchronous for files and pipes on Linux: nothing is lost by exiting now,
  // and exiting ends any handle a misbehaving resource left open.
  process.exit(code);
}
