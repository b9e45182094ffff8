import { readFileSync } from 'node:fs';
import { errorMessage, UsageError } from '../errors.js';
import { parseDuration } from './duration.js';
import type { Frontend, FrontendFactory } from '../frontend/types.js';
import type { CommandIO } from './command.js';
import type { ParsedFlags } from './flags.js';
import { closeInheritedDescriptors, setCommandLimit } from '../resources/exec-process.js';
import type { PkgBackendChoice } from '../pkg/select.js';
import { builtinRegistry } from '../resources/index.js';
import type { Registry } from '../core/registry.js';
import { checkRunSettings, run } from './run.js';
import { checkClusterSettings, parseUrls, type ClusterSettings } from '../agent/world-setup.js';
import { checkTransport } from './transport-policy.js';
import { DEFAULT_PROMETHEUS_LISTEN, parseListenAddress } from '../metrics/listen-address.js';
import type { MetricsOptions } from '../metrics/start.js';

/**
 * readToken takes the join token from --token, --token-file or MGMT_TOKEN (one of them); the
 * token itself never appears in an error.
 */
function readToken(flag: string | undefined, file: string | undefined, env = process.env.MGMT_TOKEN): string | undefined {
  const given = [flag !== undefined && '--token', file !== undefined && '--token-file', env !== undefined && env !== '' && 'MGMT_TOKEN'].filter(Boolean);
  if (given.length > 1) throw new UsageError(`mgmt run: the join token was given ${given.length} ways (${given.join(', ')}): give it once`);
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`mgmt run: --token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
    }
  }
  return flag ?? (env === '' ? undefined : env);
}

/** CheckedRun is a `mgmt run` command line whose flags passed every check made before the run starts. */
export interface CheckedRun {
  readonly frontend: Frontend;
  readonly origin?: Readonly<Record<string, string>>;
  readonly noop: boolean;
  readonly cluster: ClusterSettings;
  readonly transportWarnings: readonly string[];
  readonly commandLimit: number;
  /** The run's resource kinds (built with its --pkg-backend). */
  readonly registry: Registry;
  /** What --prometheus serves, where; undefined without the flag. */
  readonly prometheus?: MetricsOptions;
}

/**
 * checkRunFlags checks a `mgmt run` command line without running anything: the frontend's own
 * flags go to its factory (checked first), the agent's are checked here; `mgmt service install`
 * checks the command line of the unit it writes with it.
 */
export async function checkRunFlags(factory: FrontendFactory, flags: ParsedFlags, positional: string[]): Promise<CheckedRun> {
  const sema = flags.sema as number;
  const noop = flags.noop === true;
  // The run's kinds, built once: run-wide options such as --pkg-backend reach a kind only here.
  const registry = builtinRegistry({ pkgBackend: flags['pkg-backend'] as PkgBackendChoice });
  const { frontend, origin } = factory(flags, positional, { noop, sema, registry });
  // -1 (the default) is no limit; 0 would let nothing run and hang the run forever.
  if (sema === 0 || sema < -1) throw new UsageError(`mgmt run: --sema must be a number above 0 (or -1 for no limit), not ${sema}`);
  const insecure = flags.insecure === true;
  const cluster: ClusterSettings = {
    seeds: parseUrls(flags.seeds as string[], 'seeds', insecure),
    noServer: flags['no-server'] === true,
    etcdBinary: flags['etcd-binary'] as string | undefined,
    clientUrls: parseUrls([flags['client-urls'] as string], 'client-urls', insecure),
    serverUrls: parseUrls([flags['server-urls'] as string], 'server-urls', insecure),
    idealClusterSize: flags['ideal-cluster-size'] as number,
    leaseTtlSeconds: flags['lease-ttl'] as number,
    heartbeatIntervalMs: flags['etcd-heartbeat-interval'] as number,
    electionTimeoutMs: flags['etcd-election-timeout'] as number,
    insecure,
    token: readToken(flags['token'] as string | undefined, flags['token-file'] as string | undefined),
    joinUrl: flags['join-url'] === undefined ? undefined : parseUrls([flags['join-url'] as string], 'join-url', insecure)[0],
    joinUrls: flags['join-urls'] === undefined ? [] : parseUrls([flags['join-urls'] as string], 'join-urls', insecure),
    certLifetimeMs: parseDuration(flags['cert-lifetime'] as string, 'mgmt run: --cert-lifetime', 10_000),
  };
  checkClusterSettings(cluster);
  const transportWarnings = checkTransport(cluster);
  const commandLimit = flags['exec-parallelism'] as number;
  if (commandLimit < 1) throw new UsageError(`mgmt run: --exec-parallelism takes a number above 0, not ${commandLimit}`);
  await checkRunSettings({ prefix: flags.prefix as string | undefined, tmpPrefix: flags['tmp-prefix'] === true, graphviz: flags.graphviz as string | undefined, graphvizFilter: flags['graphviz-filter'] as string, hostname: flags.hostname as string | undefined });
  const listen = flags['prometheus-listen'] as string | undefined;
  if (listen !== undefined && flags.prometheus !== true) throw new UsageError('mgmt run: --prometheus-listen needs --prometheus');
  const prometheus = flags.prometheus === true ? { listen: parseListenAddress(listen ?? DEFAULT_PROMETHEUS_LISTEN), kinds: [...registry.keys()] } : undefined;
  return { frontend, origin, noop, cluster, transportWarnings, commandLimit, registry, prometheus };
}

/** runCommand adapts `mgmt run` flags to the run function, once checkRunFlags passed them. */
export async function runCommand(factory: FrontendFactory, flags: ParsedFlags, positional: string[], io: CommandIO): Promise<number> {
  const { frontend, origin, noop, cluster, transportWarnings, commandLimit, prometheus } = await checkRunFlags(factory, flags, positional);
  setCommandLimit(commandLimit);
  // Descriptors whoever started us left open must not reach the commands we run (as other users too).
  closeInheritedDescriptors();
  return run(
    {
      frontend,
      origin,
      convergedTimeout: flags['converged-timeout'] as number,
      graphviz: flags.graphviz as string | undefined,
      graphvizFilter: flags['graphviz-filter'] as string,
      hostname: flags.hostname as string | undefined,
      prefix: flags.prefix as string | undefined,
      tmpPrefix: flags['tmp-prefix'] === true,
      noop,
      logFormat: flags['log-format'] as 'text' | 'json',
      verbose: flags.verbose === true,
      cluster,
      startWarnings: transportWarnings,
      handleSignals: true,
      prometheus,
    },
    io,
  );
}
