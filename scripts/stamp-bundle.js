// The build's last step before the code cache: appends the bundle's build id, a hash of its
// content, as its last line (`//# mgmt-build=ID`). bin/mgmt.js stamps the V8 code cache with it
// rather than with the bundle's mtime, which npm pack sets to one fixed date for every file it packs.
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';

const bundle = process.argv[2];
const source = readFileSync(bundle);
const id = createHash('sha256').update(source).digest('hex').slice(0, 32);
appendFileSync(bundle, `${source.at(-1) === 0x0a ? '' : '\n'}//# mgmt-build=${id}\n`);
