import { Subject } from 'rxjs';
import { backoffDelay } from '../../streams/retry-with-backoff.js';
import { errorMessage } from '../errors.js';
import type { GraphSpec } from '../graph/spec.js';
import type { EventLog } from '../log/events.js';
import type { Registry } from '../core/registry.js';
import { defaultRegistry } from '../resources/index.js';
import { exportsOf, withCollected } from '../world/collect.js';
import type { ExportedResource, World } from '../world/types.js';

/** Collector merges what other hosts exported into a parsed graph, and remembers what the last graph needed. */
export interface Collector {
  /** prepare adds the collected resources to a parsed spec; it only reads the World. */
  prepare(spec: GraphSpec): Promise<GraphSpec>;
  /** collects says whether the last prepared spec collects anything. */
  readonly collects: boolean;
  /** usesWorld says whether the last prepared spec collects or exports anything. */
  readonly usesWorld: boolean;
  /** retries emits when a failed collect should be tried again (the World was unreachable). */
  readonly retries: Subject<void>;
}

/**
 * createCollector makes the collect step of the YAML frontend: a World that cannot be reached keeps
 * the last collected set (and asks again with a backoff), and a refusal is logged once while it stands.
 */
export function createCollector(world: World, log: EventLog, registry: Registry = defaultRegistry): Collector {
  let collects = false;
  let usesWorld = false;
  let lastCollected: ExportedResource[] = [];
  let collectFailures = 0;
  let standingRefusals = new Set<string>();
  const retries = new Subject<void>();
  const prepare = async (spec: GraphSpec): Promise<GraphSpec> => {
    collects = spec.collect.length > 0;
    usesWorld = collects || exportsOf(spec).length > 0;
    if (!collects) return spec;
    const kinds = [...new Set(spec.collect.map((entry) => entry.kind))];
    const problem = (message: string): void => log.emit({ level: 'warn', event: 'collect', message: `refused: ${message}` });
    let collected: ExportedResource[];
    try {
      collected = await world.collectResources(kinds, problem);
      lastCollected = collected;
      collectFailures = 0;
    } catch (err) {
      // The World is unreachable for now (etcd restarting, a leader change): keep what was
      // collected before rather than dropping it from the graph, and look again shortly.
      collectFailures++;
      const retryInMs = backoffDelay(collectFailures, 100, 5000);
      log.emit({ level: 'warn', event: 'collect', message: `could not collect, keeping the last collected set: ${errorMessage(err)}`, retryInMs });
      setTimeout(() => retries.next(), retryInMs).unref();
      collected = lastCollected.filter((res) => kinds.includes(res.kind));
    }
    // A refusal is reported once while it stands: every reload (and a one-shot run's second
    // pass) collects the same exports again.
    const refusedNow = new Set<string>();
    const merged = withCollected(spec, collected, registry, ({ from, reason, field, allow }) => {
      const message = `refused: ${from}: ${reason}`;
      if (!standingRefusals.has(message) && !refusedNow.has(message)) log.emit({ level: 'warn', event: 'collect', message, from, field, allow });
      refusedNow.add(message);
    });
    standingRefusals = refusedNow;
    log.emit({ level: 'info', event: 'collect', kinds, count: merged.resources.length - spec.resources.length });
    return merged;
  };
  return {
    prepare,
    get collects() {
      return collects;
    },
    get usesWorld() {
      return usesWorld;
    },
    retries,
  };
}
