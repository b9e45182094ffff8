// Hostile battery: a storm that overflows the inotify queue. libuv drops the kernel's overflow
// event without a word, so the changes lost with it were never repaired (a file deleted in
// races-file's storm stayed missing). The agent is stopped (SIGSTOP) so that the kernel's queue
// really overflows: more file events than fs.inotify.max_queued_events, then a deletion and a
// rewrite of declared files that the queue has no room for. Woken, it must repair both.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMgmt } from '../helpers/cli.js';
import { waitForFiles } from '../helpers/exchange.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const COUNT = 20;

const contentOf = (i: number): string => `file ${i}\n`;

function queueLimit(): number {
  return Number.parseInt(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'), 10);
}

/** processState is the state letter of /proc/<pid>/stat (T: stopped by a signal). */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

describe('hostile: an inotify queue overflow', () => {
  it('changes lost in an overflowed inotify queue are repaired, with a warning', { timeout: 120_000 }, async () => {
    const limit = queueLimit();
    expect(limit, 'fs.inotify.max_queued_events is too large to overflow in a test').toBeLessThanOrEqual(1 << 20);
    const dir = await tempDir();
    const out = join(dir, 'out');
    const want = Object.fromEntries(Array.from({ length: COUNT }, (_, i) => [`f${i}`, contentOf(i)]));
    const yaml = join(dir, 'graph.yaml');
    const lines = ['graph: inotify-overflow', 'resources:', '  file:'];
    for (const [name, content] of Object.entries(want)) lines.push(`    - name: ${JSON.stringify(join(out, name))}`, `      content: ${JSON.stringify(content)}`);
    writeFileSync(yaml, lines.join('\n') + '\n');

    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await agent.waitForEvent(() => agent.events.filter((e) => e.event === 'apply').length >= COUNT, 'every file written');
    await waitForFiles(out, want, 'every file written');

    agent.child.kill('SIGSTOP');
    try {
      await waitFor(() => processState(agent.child.pid!) === 'T', 'the agent to stop', 10_000);
      // Two names in turn: the kernel merges an event only with an identical one just before it.
      const junk = [join(out, 'junk-a'), join(out, 'junk-b')];
      for (let i = 0; i < limit + 1000; i++) writeFileSync(junk[i % 2]!, `${i}`);
      for (const path of junk) rmSync(path);
      // The queue is full: these two changes are lost with the overflow.
      rmSync(join(out, 'f3'));
      writeFileSync(join(out, 'f7'), 'drifted\n');
    } finally {
      agent.child.kill('SIGCONT');
    }

    await waitForFiles(out, want, 'the lost deletion and rewrite to be repaired', 60_000);
    // The files are repaired on disk before the test has read the log that tells of it.
    await agent.waitForEvent((e) => e.event === 'warning' && String(e.message).includes('inotify may have dropped some'), 'the warning');
    expect(agent.events.filter((e) => e.event === 'error')).toEqual([]);
    agent.child.kill('SIGTERM');
    await agent.exited;
  });
});
