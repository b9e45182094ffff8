#!/usr/bin/env -S node --max-semi-space-size=4
// Entry point. `--version` is answered here without loading the agent, so it stays fast. This
// file is CommonJS (bin/package.json): node starts a CommonJS entry ~4 ms sooner than a module.
//
// The agent is the one-file bundle `npm run build` writes (dist/bundle/mgmt.cjs), compiled with
// the V8 code cache the build leaves beside it: a one-shot run then starts without resolving
// hundreds of modules or compiling what it runs (~50 ms of a ~110 ms start-up). The cache starts
// with the bundle's size and mtime; a cache of another bundle, or one this node's V8 rejects, is
// simply not used. The build writes it by running `MGMT_WRITE_CODE_CACHE=1 mgmt run --noop` once.
//
// The `mgmt` command (this file run by its first line) caps V8's young generation at 4 MB
// semi-spaces (16 MB by default): at 10,000 files the peak RSS is 143 MB instead of 162 MB for the
// same CPU, as young garbage is collected sooner instead of growing the heap. V8 rejects a code
// cache made under other flags, so each set of node flags has its own cache file (`node
// bin/mgmt.js`, as the tests run it, uses `mgmt.cjs.cache`); the build writes both.
'use strict';
const { readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
  process.stdout.write(`mgmt ${pkg.version}\n`);
} else {
  // A SIGHUP asks a running agent to reload its graph file; one that arrives while the bundle
  // loads (before the run installs its own handler, and before the file is first read) has
  // nothing to reload, and must not kill the agent as the default action would.
  if (argv[0] === 'run') process.on('SIGHUP', () => undefined);
  const bundle = join(__dirname, '..', 'dist', 'bundle', 'mgmt.cjs');
  const flags = process.execArgv.join(' ').replace(/[^A-Za-z0-9=.]+/g, '_').replace(/^_+/, '');
  const cacheFile = flags === '' ? `${bundle}.cache` : `${bundle}.${flags}.cache`;
  const { size, mtimeMs } = statSync(bundle);
  const stamp = Buffer.from(`${size}:${mtimeMs}\n`);
  let cachedData;
  try {
    const cache = readFileSync(cacheFile);
    if (cache.subarray(0, stamp.length).equals(stamp)) cachedData = cache.subarray(stamp.length);
  } catch {
    // no cache: compile as usual
  }
  // CommonJS's own wrapper, on the first line so that stack traces keep the bundle's line numbers.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`;
  const script = new Script(source, { filename: bundle, cachedData });
  const agent = { exports: {} };
  script.runInThisContext()(agent.exports, createRequire(bundle), agent, bundle, dirname(bundle));
  agent.exports.main(argv).then((code) => {
    // After a run, the cache holds what the run compiled too, not only the bundle's top level.
    if (process.env.MGMT_WRITE_CODE_CACHE === '1') {
      writeFileSync(`${cacheFile}.tmp`, Buffer.concat([stamp, script.createCachedData()]));
      renameSync(`${cacheFile}.tmp`, cacheFile);
    }
    // The event log waited for its reader before main resolved (a bounded wait): exiting now ends
    // any handle a misbehaving resource left open.
    process.exit(code);
  });
}
