import { describe, expect, it } from 'vitest';
import { OutputTail } from '../../src/os/tail.js';

describe('OutputTail', () => {
  it('GIVEN less than the limit THEN everything is kept', () => {
    const tail = new OutputTail(100);
    tail.push('one\n');
    tail.push(Buffer.from('two\n'));
    expect(tail.toString()).toBe('one\ntwo\n');
    expect(tail.text()).toBe('one\ntwo');
  });

  it('GIVEN more than the limit in many chunks THEN exactly the last `limit` bytes are kept', () => {
    const tail = new OutputTail(10);
    for (let i = 0; i < 100; i++) tail.push(`${i % 10}`);
    expect(tail.toString()).toBe('0123456789');
  });

  it('GIVEN one chunk larger than the limit THEN its end is kept', () => {
    const tail = new OutputTail(4);
    tail.push('abcdefgh');
    expect(tail.toString()).toBe('efgh');
  });

  it('GIVEN a cut head THEN text starts at the next whole line', () => {
    const tail = new OutputTail(12);
    tail.push('first line\nsecond\nthird\n');
    expect(tail.toString()).toBe('\nsecond\nthird\n'.slice(-12));
    expect(tail.text()).toBe('third');
  });

  it('GIVEN a limit of Infinity THEN everything is kept', () => {
    const tail = new OutputTail(Infinity);
    const big = 'x'.repeat(1_000_000);
    tail.push(big);
    tail.push('end');
    expect(tail.toString()).toBe(`${big}end`);
  });

  it('GIVEN clear THEN what was kept is forgotten', () => {
    const tail = new OutputTail(10);
    tail.push('old');
    tail.clear();
    tail.push('new');
    expect(tail.toString()).toBe('new');
  });

  it('GIVEN a character cut at the window edge THEN it decodes as U+FFFD, not as a throw', () => {
    const tail = new OutputTail(3);
    tail.push('aé€'); // é is 2 bytes, € is 3: the window holds exactly €
    expect(tail.toString()).toBe('€');
    tail.push('b');
    expect(tail.toString()).toBe('\uFFFD\uFFFDb');
  });
});
