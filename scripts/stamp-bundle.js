// The build's last step before the code cache. It makes the bundle ASCII: esbuild copies comments
// verbatim, and a single non-ASCII character makes node decode the whole file into a two-byte
// string (1.99 MB -> 1.14 MB of source to read and compile once escaped). Then it appends the
// bundle's build id, a hash of its content, as its last line (`//# mgmt-build=ID`): bin/mgmt.js
// stamps the V8 code cache with it rather than with the bundle's mtime, which npm pack sets to one
// fixed date for every file it packs.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const bundle = process.argv[2];
const source = readFileSync(bundle, 'utf8').replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const id = createHash('sha256').update(source).digest('hex').slice(0, 32);
writeFileSync(bundle, `${source}${source.endsWith('\n') ? '' : '\n'}//# mgmt-build=${id}\n`);
