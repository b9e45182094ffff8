import { describe, expect, it } from 'vitest';
import { isEmptyTransaction, isUnknown } from '../../src/pkg/backend.js';

describe('helpers', () => {
  it('GIVEN infos THEN unknown means not installed and nothing offered, when asked', () => {
    expect(isUnknown({ name: 'a', installed: undefined, available: { candidate: undefined, versions: [] } })).toBe(true);
    expect(isUnknown({ name: 'a', installed: '1', available: { candidate: undefined, versions: [] } })).toBe(false);
    expect(isUnknown({ name: 'a', installed: undefined })).toBe(false);
    expect(isEmptyTransaction({ install: [], upgrade: [], remove: [] })).toBe(true);
  });
});
