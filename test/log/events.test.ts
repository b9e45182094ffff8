import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createEventLog, FLUSH_DEADLINE_MS, formatText, isRoutine, MAX_BACKLOG_BYTES, type EventLogOptions } from '../../src/log/events.js';
import { escapeControl } from '../../src/log/escape.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

const AT = new Date(2026, 10, 22, 1, 2, 3, 45);

function makeLog(options: Partial<EventLogOptions>) {
  const stdout = new Sink();
  const stderr = new Sink();
  const log = createEventLog({ format: 'text', host: 'h1', now: () => AT, stdout, stderr, ...options });
  return { log, stdout, stderr };
}

describe('event log', () => {
  it('GIVEN json format THEN each event is one JSON line on stdout with ts and host, nothing on stderr', async () => {
    const { log, stdout, stderr } = makeLog({ format: 'json', level: 'debug' });
    log.emit({ level: 'info', event: 'apply', resource: 'file[f1]', kind: 'file', name: 'f1', changed: true, ms: 1.5 });
    log.forResource('exec[e]', 'exec', 'e').debug('stdout: hi');
    await log.flush();
    const lines = stdout.text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      { ts: AT.toISOString(), host: 'h1', level: 'info', event: 'apply', resource: 'file[f1]', kind: 'file', name: 'f1', changed: true, ms: 1.5 },
      { ts: AT.toISOString(), host: 'h1', level: 'debug', event: 'log', resource: 'exec[e]', kind: 'exec', name: 'e', message: 'stdout: hi' },
    ]);
    expect(stderr.text).toBe('');
  });

  it('GIVEN text format at info THEN routine watch and check events are hidden and the rest go to stderr', async () => {
    const { log, stdout, stderr } = makeLog({});
    log.emit({ level: 'debug', event: 'watch', resource: 'file[f1]' });
    log.emit({ level: 'debug', event: 'check', resource: 'file[f1]', ok: true, ms: 0.2 });
    log.emit({ level: 'info', event: 'apply', resource: 'file[f1]', changed: true, ms: 1.5 });
    log.emit({ level: 'error', event: 'error', resource: 'exec[bad]', phase: 'checkApply', message: 'cmd "false" exited with code 1', permanent: true });
    await log.flush();
    expect(stdout.text).toBe('');
    expect(stderr.text.split('\n')).toEqual([
      '01:02:03.045 file[f1]: applied in 1.5 ms',
      '01:02:03.045 ERROR error exec[bad]: cmd "false" exited with code 1 (phase=checkApply permanent=true)',
      '',
    ]);
  });

  it('GIVEN a level THEN wants says which levels may be written, and none after exit', () => {
    const { log } = makeLog({});
    expect(['debug', 'info', 'warn', 'error'].map((level) => log.wants?.(level as never))).toEqual([false, true, true, true]);
    const { log: verbose } = makeLog({ format: 'json', level: 'debug' });
    expect(verbose.wants?.('debug')).toBe(true);
    verbose.emit({ level: 'info', event: 'exit', code: 0 });
    expect(verbose.wants?.('error')).toBe(false);
  });

  it('GIVEN events in one millisecond and in the next THEN each JSON line carries its own ts, and an event naming host keeps it in place', async () => {
    let at = AT.getTime();
    const { log, stdout } = makeLog({ format: 'json', level: 'debug', now: () => new Date(at) });
    log.emit({ level: 'info', event: 'a' });
    log.emit({ level: 'info', event: 'b' });
    at += 1;
    log.emit({ level: 'info', event: 'c', host: 'peer' });
    await log.flush();
    expect(stdout.text.trim().split('\n')).toEqual([
      `{"ts":"${AT.toISOString()}","host":"h1","level":"info","event":"a"}`,
      `{"ts":"${AT.toISOString()}","host":"h1","level":"info","event":"b"}`,
      `{"ts":"${new Date(at).toISOString()}","host":"peer","level":"info","event":"c"}`,
    ]);
  });

  it('GIVEN an event without a summary THEN text shows its name and fields', () => {
    expect(formatText(AT, { level: 'info', event: 'graph', graph: 'g', vertices: 2, edges: 1 })).toBe('01:02:03.045 graph (graph=g vertices=2 edges=1)');
  });

  it('GIVEN a noop check THEN text says it would change', () => {
    expect(formatText(AT, { level: 'info', event: 'check', resource: 'exec[x]', ok: false, noop: true, ms: 3 })).toBe(
      '01:02:03.045 exec[x]: would change (noop), checked in 3 ms',
    );
  });

  it('GIVEN a reader that went away THEN writing stops without an error and flush still resolves', async () => {
    const stdout = new Writable({
      write(_chunk, _encoding, done) {
        const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
        done(err);
      },
    });
    const log = createEventLog({ format: 'json', host: 'h1', stdout, stderr: new Sink() });
    log.emit({ level: 'info', event: 'start' });
    await log.flush();
    log.emit({ level: 'info', event: 'exit' });
    await log.flush();
  });
});

describe('event log end', () => {
  it('GIVEN an exit event THEN nothing emitted afterwards is written', async () => {
    const stdout = new Sink();
    const log = createEventLog({ format: 'json', host: 'h1', stdout, stderr: new Sink(), level: 'debug' });
    log.emit({ level: 'info', event: 'exit', code: 0 });
    log.emit({ level: 'debug', event: 'log', resource: 'exec[x]', message: 'late output' });
    await log.flush();
    expect(stdout.text.trim().split('\n').map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(['exit']);
  });
});

// Held takes chunks and finishes none until released: a reader that stopped reading.
class Held extends Writable {
  readonly held: Array<{ chunk: Buffer; done: () => void }> = [];
  constructor() {
    super({ highWaterMark: 1024 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.held.push({ chunk, done: () => done() });
  }
  /** release lets every chunk through and returns all that was written. */
  async release(): Promise<string> {
    let text = '';
    while (this.held.length > 0) {
      const { chunk, done } = this.held.shift()!;
      text += chunk.toString('utf8');
      done();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return text;
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('event log bounds', () => {
  it('GIVEN a reader that keeps up WHEN more than the backlog bound is emitted in one tick THEN nothing is dropped', async () => {
    const { log, stdout } = makeLog({ format: 'json', level: 'debug' });
    const line = { level: 'debug', event: 'watch', resource: 'file[f]', message: 'x'.repeat(1000) } as const;
    const count = Math.ceil((2 * MAX_BACKLOG_BYTES) / 1000);
    for (let i = 0; i < count; i++) log.emit(line);
    await log.flush();
    const lines = stdout.text.trim().split('\n');
    expect(lines).toHaveLength(count);
    expect(lines.some((text) => text.includes('"dropped"'))).toBe(false);
  });

  it('GIVEN a reader that stopped reading THEN routine events past the backlog are dropped and counted, never an apply, error or exit', async () => {
    const stdout = new Held();
    const log = createEventLog({ format: 'json', host: 'h1', stdout, stderr: new Sink(), level: 'debug' });
    const noisy = log.forResource('exec[noisy]', 'exec', 'noisy');
    const big = 'y'.repeat(64 * 1024);
    const routine = Math.ceil(MAX_BACKLOG_BYTES / big.length) * 2;
    for (let i = 0; i < routine; i++) noisy.debug(`watchcmd: ${big}`);
    await tick();
    for (let i = 0; i < routine; i++) log.emit({ level: 'debug', event: 'watch', resource: 'exec[noisy]' });
    log.emit({ level: 'info', event: 'apply', resource: 'file[f]', changed: true, ms: 1 });
    log.emit({ level: 'error', event: 'error', resource: 'exec[x]', message: 'failed', permanent: true });
    log.emit({ level: 'info', event: 'exit', code: 0 });
    await tick();
    // What the log holds for its reader stays bounded.
    expect(stdout.writableLength).toBeLessThan(MAX_BACKLOG_BYTES + 2 * big.length);
    const lines = (await stdout.release()).trim().split('\n');
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.slice(-4).map((e) => e.event)).toEqual(['dropped', 'apply', 'error', 'exit']);
    const dropped = events.at(-4)!;
    expect(dropped).toMatchObject({ level: 'warn', events: { log: expect.any(Number), watch: routine } });
    // Every routine event is either written or counted.
    expect(events.filter((e) => e.event === 'log').length + (dropped.count as number)).toBe(2 * routine);
  });

  it('GIVEN a slow reader WHEN many batches are written in one stretch THEN the log waits for one drain, not one per batch, and every line arrives', async () => {
    const stdout = new Held();
    const log = createEventLog({ format: 'json', host: 'h1', stdout, stderr: new Sink(), level: 'debug' });
    const count = 2_000; // ~300 KB: several batches, each past the reader's high-water mark
    for (let i = 0; i < count; i++) log.emit({ level: 'debug', event: 'watch', resource: `file[f${i}]`, message: 'z'.repeat(100) });
    await tick();
    // A listener per batch made MaxListenersExceededWarning on a piped stdout.
    expect(stdout.listenerCount('drain')).toBeLessThanOrEqual(1);
    const flushed = log.flush();
    const lines = (await stdout.release()).trim().split('\n');
    await flushed;
    expect(lines).toHaveLength(count);
    expect(stdout.listenerCount('drain')).toBe(0);
  });

  it('GIVEN a reader that stopped reading THEN flush gives up after its deadline instead of hanging the exit', async () => {
    const log = createEventLog({ format: 'json', host: 'h1', stdout: new Held(), stderr: new Sink() });
    log.emit({ level: 'info', event: 'exit', code: 0, message: 'x'.repeat(4096) });
    const began = performance.now();
    await log.flush();
    expect(performance.now() - began).toBeLessThan(FLUSH_DEADLINE_MS + 1000);
  });

  it('GIVEN a slow reader that keeps reading THEN flush waits past its deadline until everything was taken', async () => {
    const stdout = new Held();
    const log = createEventLog({ format: 'json', host: 'h1', stdout, stderr: new Sink() });
    for (let i = 0; i < 4; i++) {
      log.emit({ level: 'info', event: 'apply', resource: `file[f${i}]`, message: 'x'.repeat(4096) });
      await tick();
    }
    log.emit({ level: 'info', event: 'exit', code: 0 });
    // The reader takes one chunk every 300 ms: slower than the deadline, but never stuck.
    let text = '';
    const reader = setInterval(() => {
      const next = stdout.held.shift();
      if (!next) return;
      text += next.chunk.toString('utf8');
      next.done();
    }, 300);
    try {
      await log.flush();
    } finally {
      clearInterval(reader);
    }
    expect(text.trim().split('\n').map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(['apply', 'apply', 'apply', 'apply', 'exit']);
  });

  it('says which events are routine: watch, OK checks and debug lines, never warnings, errors, applies or would-change checks', () => {
    expect(isRoutine({ level: 'debug', event: 'watch' })).toBe(true);
    expect(isRoutine({ level: 'debug', event: 'check', ok: true })).toBe(true);
    expect(isRoutine({ level: 'debug', event: 'log', message: 'stdout: y' })).toBe(true);
    expect(isRoutine({ level: 'info', event: 'check', ok: false, noop: true })).toBe(false);
    expect(isRoutine({ level: 'info', event: 'apply', changed: true })).toBe(false);
    expect(isRoutine({ level: 'info', event: 'exit', code: 0 })).toBe(false);
    expect(isRoutine({ level: 'warn', event: 'retry' })).toBe(false);
    expect(isRoutine({ level: 'error', event: 'error' })).toBe(false);
  });
});

describe('event log text escaping', () => {
  it('escapes newlines, carriage returns, ESC, other C0 and C1 controls and DEL, and leaves other text alone', () => {
    expect(escapeControl('a\nb\rc\td\u001b[31me\u0007f\u007fg\u0085h\u009bi\u2028j')).toBe('a\\nb\\rc\\td\\e[31me\\x07f\\x7fg\\x85h\\x9bi\\u2028j');
    expect(escapeControl('kind[näme] ok: /tmp/x "y"')).toBe('kind[näme] ok: /tmp/x "y"');
  });

  it('GIVEN a resource name and a message with a newline and escapes THEN text renders one line with them escaped', () => {
    const line = formatText(AT, {
      level: 'error',
      event: 'error',
      resource: 'exec[x\n01:02:03.045 exit (code=0)]',
      message: 'failed\r\u001b]0;owned\u0007',
      detail: 'a\nb',
    });
    expect(line).toBe('01:02:03.045 ERROR error exec[x\\n01:02:03.045 exit (code=0)]: failed\\r\\e]0;owned\\x07 (detail=a\\nb)');
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('GIVEN a noop check that would change THEN text mode shows it at info, while OK checks stay hidden', async () => {
    const { log, stderr } = makeLog({});
    log.emit({ level: 'debug', event: 'check', resource: 'file[ok]', ok: true, ms: 0.1 });
    log.emit({ level: 'info', event: 'check', resource: 'file[f]', ok: false, noop: true, message: 'would change (noop)', ms: 0.2 });
    await log.flush();
    expect(stderr.text).toBe('01:02:03.045 file[f]: would change (noop), checked in 0.2 ms\n');
  });
});
