import { describe, expect, it } from 'vitest';
import { inotifyOverflowWarning } from '../../src/agent/inotify-overflow.js';
import type { EventLog, LogEvent } from '../../src/log/events.js';

function recordingLog(): { log: EventLog; events: LogEvent[] } {
  const events: LogEvent[] = [];
  const log = { emit: (event: LogEvent) => events.push(event), wants: () => true, flush: async () => {} } as unknown as EventLog;
  return { log, events };
}

describe('inotifyOverflowWarning', () => {
  it('GIVEN overflows in a storm WHEN they follow each other within a minute THEN one warning, then one that counts the quiet ones', () => {
    const { log, events } = recordingLog();
    let now = 1_000;
    const warn = inotifyOverflowWarning(log, () => now);

    warn(16_384);
    now += 1_000;
    warn(16_500);
    now += 30_000;
    warn(17_000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ level: 'warn', event: 'warning' });
    expect(events[0]!.message).toBe('16384 file events arrived at once: inotify may have dropped some (fs.inotify.max_queued_events), so every watched path is checked again');

    now += 30_000;
    warn(20_000);
    expect(events).toHaveLength(2);
    expect(events[1]!.message).toContain('20000 file events arrived at once (3 times since the last warning)');
  });
});
