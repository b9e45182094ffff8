#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS MGMT_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --max-semi-space-size=4
// Entry point. `--version` is answered here without loading the agent, so it stays fast. This
// file is CommonJS (bin/package.json): node starts a CommonJS entry ~4 ms sooner than a module.
//
// The agent is the one-file bundle `npm run build` writes (dist/bundle/mgmt.cjs), compiled with
// the V8 code cache the build leaves beside it: a one-shot run then starts without resolving
// hundreds of modules or compiling what it runs (~50 ms of a ~110 ms start-up). The cache starts
// with a stamp: the bundle's length and the build id on its last line (a hash of its content,
// scripts/stamp-bundle.js), not its mtime, which npm pack resets; a cache of another bundle, or
// one this node's V8 rejects, is simply not used. The build writes it by running
// `MGMT_WRITE_CODE_CACHE=1 mgmt run --noop` once; nothing else writes beside the bundle, which an
// installed package may keep in a read-only or root-owned prefix. MGMT_DEBUG_CODE_CACHE=1 reports
// on stderr whether the cache was used.
//
// The `mgmt` command (this file run by its first line) caps V8's young generation at 4 MB
// semi-spaces (16 MB by default): at 10,000 files the peak RSS is 143 MB instead of 162 MB for the
// same CPU, as young garbage is collected sooner instead of growing the heap. V8 rejects a code
// cache made under other flags, so each set of node flags has its own cache file (`node
// bin/mgmt.js`, as the tests run it, uses `mgmt.cjs.cache`); the build writes both.
//
// It also starts node without NODE_EXTRA_CA_CERTS, kept aside as MGMT_NODE_EXTRA_CA_CERTS (env -S
// expands ${...}; unset, it is empty): node parses that file at every start (a system CA bundle:
// ~40 ms of a one-file run's ~100 ms CPU here), and the agent never uses node's default trust. The
// agent puts it back first thing (src/cli/extra-ca-certs.ts), for the commands it runs.
'use strict';
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
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
  let text;
  try {
    text = readFileSync(bundle, 'utf8');
  } catch (error) {
    process.stderr.write(`mgmt: cannot read the agent ${JSON.stringify(bundle)} (${error.code}): in a source checkout, run \`npm run build\` first\n`);
    process.exit(1);
  }
  const id = /\/\/# mgmt-build=(\w+)\n$/.exec(text.slice(-64))?.[1];
  // A bundle without a build id (not made by the build) takes no cache and leaves none.
  const stamp = id === undefined ? undefined : Buffer.from(`${text.length}:${id}\n`);
  let cachedData;
  let cacheState = 'absent';
  try {
    const cache = readFileSync(cacheFile);
    cacheState = "not this bundle's";
    if (stamp !== undefined && cache.subarray(0, stamp.length).equals(stamp)) cachedData = cache.subarray(stamp.length);
  } catch {
    // no cache: compile as usual
  }
  // CommonJS's own wrapper, on the first line so that stack traces keep the bundle's line numbers.
  const source = `(function (exports, require, module, __filename, __dirname) {${text}\n})`;
  const script = new Script(source, { filename: bundle, cachedData });
  if (cachedData !== undefined) cacheState = script.cachedDataRejected ? 'rejected by V8' : 'used';
  if (process.env.MGMT_DEBUG_CODE_CACHE === '1') process.stderr.write(`mgmt: code cache ${JSON.stringify(cacheFile)}: ${cacheState}\n`);
  const agent = { exports: {} };
  script.runInThisContext()(agent.exports, createRequire(bundle), agent, bundle, dirname(bundle));
  agent.exports.main(argv).then((code) => {
    // After a run, the cache holds what the run compiled too, not only the bundle's top level.
    if (process.env.MGMT_WRITE_CODE_CACHE === '1' && stamp !== undefined) {
      writeFileSync(`${cacheFile}.tmp`, Buffer.concat([stamp, script.createCachedData()]));
      renameSync(`${cacheFile}.tmp`, cacheFile);
    }
    // The event log waited for its reader before main resolved (a bounded wait): exiting now ends
    // any handle a misbehaving resource left open.
    process.exit(code);
  });
}
