import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createEventLog, formatText, type EventLogOptions } from '../../src/log/events.js';

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
