// Issue 11 point 8: the flags that keep the store of the agents' etcd bounded.

import { describe, expect, it } from 'vitest';
import { QUOTA_ENV, storeArgs } from '../../src/etcd/server.js';

describe('storeArgs', () => {
  it('issue 11 point 8: etcd compacts its history every minute by default, and the quota is etcd\'s own unless set', () => {
    expect(storeArgs({}, {})).toEqual(['--auto-compaction-mode=periodic', '--auto-compaction-retention=1m']);
  });

  it('issue 11 point 8: the quota comes from the option, else from MGMT_ETCD_QUOTA_BACKEND_BYTES', () => {
    expect(storeArgs({ quotaBackendBytes: 4_000_000 }, { [QUOTA_ENV]: '9' })).toContain('--quota-backend-bytes=4000000');
    expect(storeArgs({ compactionRetention: '30s' }, { [QUOTA_ENV]: '8000000' })).toEqual([
      '--auto-compaction-mode=periodic',
      '--auto-compaction-retention=30s',
      '--quota-backend-bytes=8000000',
    ]);
    expect(storeArgs({}, { [QUOTA_ENV]: '' }).filter((arg) => arg.includes('quota'))).toEqual([]);
  });

  it('issue 11 point 8: a quota or retention etcd would misread is refused with the value and where it came from', () => {
    expect(() => storeArgs({}, { [QUOTA_ENV]: '4MB' })).toThrow(`etcd server: quota "4MB" (${QUOTA_ENV} or quotaBackendBytes) must be a positive number of bytes`);
    expect(() => storeArgs({ quotaBackendBytes: -1 }, {})).toThrow(/quota -1/);
    expect(() => storeArgs({ compactionRetention: '5' }, {})).toThrow('etcd server: compaction retention "5" is not a duration like 1m or 30s');
  });
});
