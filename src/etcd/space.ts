// etcd's NOSPACE alarm (issue 11 point 8): once the backend reaches `--quota-backend-bytes`, etcd
// raises a cluster-wide alarm and refuses every write until someone compacts the history,
// defragments each member (compaction frees pages, only defragmentation gives them back) and
// disarms the alarm. The agents' etcd compacts by itself (storeArgs in server.ts); this is the way
// out when the quota was reached anyway, e.g. by an etcd the agent does not run.

import { causesOf } from '../errors.js';
import type { EtcdConnection } from './connection.js';

/** isNoSpace says whether an error (or its cause) is etcd refusing a write for lack of space. */
export function isNoSpace(err: unknown): boolean {
  return causesOf(err).some((e) => /database space exceeded|alarm:NOSPACE/.test(e.message));
}

/** SpaceRecovery is what recoverSpace did, for the agent's log. */
export interface SpaceRecovery {
  /** The revision the history was compacted to. */
  readonly revision: string;
  /** The members' client URLs that were defragmented. */
  readonly defragmented: readonly string[];
  /** How many NOSPACE alarms were disarmed. */
  readonly disarmed: number;
}

/**
 * recoverSpace compacts etcd's history to the current revision, defragments every member and
 * disarms the NOSPACE alarms. It does not check that the live data now fits the quota: the write
 * that is retried afterwards says so.
 */
export async function recoverSpace(connection: EtcdConnection): Promise<SpaceRecovery> {
  const status = await connection.bounded('read the revision to compact to', (client) => client.maintenance.status());
  const revision = status.header.revision;
  await connection.bounded(`compact the history to revision ${revision}`, async (client) => {
    try {
      await client.kv.compact({ revision, physical: true });
    } catch (err) {
      // Another agent compacted as far or further meanwhile: that is what we wanted.
      if (!/compacted/.test((err as Error).message)) throw err;
    }
  });
  const members = await connection.bounded('list the members to defragment', (client) => client.cluster.memberList({}));
  const urls = members.members.flatMap((member) => member.clientURLs.slice(0, 1));
  // Defragmentation is per member, and the shared client picks any endpoint: one client per member.
  await Promise.all(urls.map((url) => defragment(connection, url)));
  const alarms = await connection.bounded('read the alarms', (client) => client.maintenance.alarm({ action: 'Get', alarm: 'None', memberID: '0' }));
  let disarmed = 0;
  for (const alarm of alarms.alarms.filter((a) => a.alarm === 'Nospace')) {
    await connection.bounded('disarm the NOSPACE alarm', (client) => client.maintenance.alarm({ action: 'Deactivate', alarm: 'Nospace', memberID: alarm.memberID }));
    disarmed++;
  }
  return { revision, defragmented: urls, disarmed };
}

/** defragment defragments the one member at `url` (with the connection's credentials); it may take a while on a large backend. */
async function defragment(connection: EtcdConnection, url: string): Promise<void> {
  const member = connection.connectTo([url], 6 * connection.timeoutMs);
  try {
    await member.bounded(`defragment etcd member ${url}`, (client) => client.maintenance.defragment({}));
  } finally {
    member.close();
  }
}
