// A real etcd with the TLS flags of issue 11 (client and peer certificates of a test CA required),
// spawned directly with the agent's TLS flags (tests start and stop members at will), and clients that connect with a host's
// certificate: with etcd's auth on, the certificate's CN is the etcd user.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { EtcdConnection } from '../../src/etcd/connection.js';
import { etcdTlsFiles, tlsArgs } from '../../src/etcd/server.js';
import type { HostCredentials } from '../../src/tls/files.js';
import { freePorts } from './ports.js';
import { makeTestPki, type TestPki } from './tls.js';
import { useTempDirs } from './tmp.js';

/** TlsEtcd is one running TLS etcd member. */
export interface TlsEtcd {
  /** The member's (and its host's) name. */
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** The prefix whose tls/ holds the member host's credentials. */
  readonly prefix: string;
  readonly child: ChildProcess;
  stderr(): string;
}

/** TlsCluster makes TLS etcd members of one test CA and host credentials and connections of that CA. */
export interface TlsCluster {
  readonly pki: TestPki;
  /** start starts the first member `name` (a new cluster), or, with `join`, a member already added to `join`'s cluster. */
  start(name: string, join?: { readonly initialCluster: string; readonly peerUrl: string; readonly clientUrl: string }): Promise<TlsEtcd>;
  /** host writes credentials for `hostname` under a fresh prefix and returns the prefix. */
  host(hostname: string): Promise<{ readonly prefix: string; readonly credentials: HostCredentials }>;
  /** connect connects to `endpoints` with a host's credentials; closed after the test. */
  connect(endpoints: readonly string[], credentials: HostCredentials): EtcdConnection;
  /** urls draws a free client URL and peer URL for a member to be added. */
  urls(): Promise<{ readonly clientUrl: string; readonly peerUrl: string }>;
}

/** useTlsCluster gives each test a fresh CA; every etcd and connection it made is stopped after the test. */
export function useTlsCluster(): () => Promise<TlsCluster> {
  const tempDir = useTempDirs();
  const children: ChildProcess[] = [];
  const connections: EtcdConnection[] = [];
  // Registered after useTempDirs: hooks run in reverse, so etcd stops before its directory goes.
  afterEach(async () => {
    for (const connection of connections.splice(0)) connection.close();
    await Promise.all(children.splice(0).map(stopChild));
  });
  return async () => {
    const pki = await makeTestPki();
    const urls = async (): Promise<{ clientUrl: string; peerUrl: string }> => {
      const [client, peer] = await freePorts(2);
      return { clientUrl: `https://127.0.0.1:${client}`, peerUrl: `https://127.0.0.1:${peer}` };
    };
    const connect = (endpoints: readonly string[], credentials: HostCredentials): EtcdConnection => {
      const connection = new EtcdConnection({
        endpoints,
        timeoutMs: 10_000,
        tls: credentials,
      });
      connections.push(connection);
      return connection;
    };
    const host = async (hostname: string): Promise<{ prefix: string; credentials: HostCredentials }> => {
      const prefix = await tempDir();
      const credentials = await pki.writeHost(prefix, hostname, { urls: ['https://127.0.0.1:1'] });
      return { prefix, credentials };
    };
    const start: TlsCluster['start'] = async (name, joining) => {
      const prefix = await tempDir();
      const { clientUrl, peerUrl } = joining ?? (await urls());
      const credentials = await pki.writeHost(prefix, name, { urls: [clientUrl, peerUrl] });
      const args = [
        `--name=${name}`,
        `--data-dir=${join(prefix, 'etcd')}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=${joining?.initialCluster ?? `${name}=${peerUrl}`}`,
        `--initial-cluster-state=${joining ? 'existing' : 'new'}`,
        // The agent's own TLS flags (src/etcd/server.ts), so these tests see the etcd it runs.
        ...tlsArgs(etcdTlsFiles(prefix)),
        '--heartbeat-interval=10',
        '--election-timeout=100',
        '--strict-reconfig-check=false',
      ];
      const child = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const member: TlsEtcd = { name, clientUrl, peerUrl, prefix, child, stderr: () => stderr };
      if (!joining) await waitServing(member, connect([clientUrl], credentials));
      return member;
    };
    return { pki, start, host, connect, urls };
  };
}

/** waitServing resolves once `member` answers a read through `connection` (etcd may still be electing itself). */
export async function waitServing(member: TlsEtcd, connection: EtcdConnection, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (member.child.exitCode !== null) throw new Error(`etcd ${member.name} exited with ${member.child.exitCode}:\n${member.stderr()}`);
    try {
      await connection.bounded('read a key', (client) => client.get('/_mgmt/ready-probe').string());
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`etcd ${member.name} did not serve within ${timeoutMs} ms: ${(err as Error).message}\n${member.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
