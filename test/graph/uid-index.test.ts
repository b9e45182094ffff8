import { describe, expect, it } from 'vitest';
import { UidIndex } from '../../src/graph/uid-index.js';
import { fileUid, userUid } from '../../src/resources/uids.js';

describe('UidIndex', () => {
  it('GIVEN uids offered by several ids WHEN looked up THEN the lowest and the second-lowest holder are found', () => {
    const index = new UidIndex();
    index.add(fileUid('/d/'), 'a');
    index.add(fileUid('/d/'), 'b');
    index.add(fileUid('/d/'), 'c');
    index.add(fileUid('/e/'), 'b');
    expect([index.lowest(fileUid('/d/')), index.runnerUp(fileUid('/d/'))]).toEqual(['a', 'b']);
    expect([index.lowest(fileUid('/e/')), index.runnerUp(fileUid('/e/'))]).toEqual(['b', undefined]);
  });

  it('GIVEN an id offering one uid twice WHEN looked up THEN it is not its own runner-up', () => {
    const index = new UidIndex();
    index.add(fileUid('/d/'), 'a');
    index.add(fileUid('/d/'), 'a');
    expect([index.lowest(fileUid('/d/')), index.runnerUp(fileUid('/d/'))]).toEqual(['a', undefined]);
  });

  it('GIVEN keys of other types and lengths WHEN looked up THEN only an equal type and key is found', () => {
    const index = new UidIndex();
    index.add(fileUid('/dd'), 'a');
    index.add(userUid('/d/'), 'b');
    expect(index.lowest(fileUid('/d/'))).toBeUndefined();
    expect(index.lowest(fileUid('/d'))).toBeUndefined();
    expect(index.lowest(userUid('/d/'))).toBe('b');
  });

  it('GIVEN a key length looked up WHEN a uid of that length is added after THEN it is a bug; another length may still be added', () => {
    const index = new UidIndex();
    index.add(fileUid('/d/'), 'a');
    expect(index.lowest(fileUid('/x/'))).toBeUndefined();
    expect(() => index.add(fileUid('/e/'), 'b')).toThrow(/added after the lookups began/);
    index.add(fileUid('/e/f'), 'b');
    expect(index.lowest(fileUid('/e/f'))).toBe('b');
  });
});
