import { errorMessage } from '../errors.js';
import type { EventLog } from '../log/events.js';
import type { ExportSpec, World } from '../world/types.js';

/** ExporterOptions are what the agent's exporter writes to and when it must keep still. */
export interface ExporterOptions {
  readonly world: World;
  readonly log: EventLog;
  /** A noop run exports nothing, as upstream. */
  readonly noop: boolean;
  /** stopping says whether the agent is shutting down: nothing is written then, and a cut write is no failure. */
  readonly stopping: () => boolean;
}

/** Exporter writes each graph's exported set to the World, once per change. */
export interface Exporter {
  /** exportSet writes this host's whole exported set; a failure is logged, never thrown. */
  exportSet(exports: readonly ExportSpec[]): Promise<void>;
  /** failed says whether a write failed (the run then exits 1). */
  readonly failed: boolean;
}

/** createExporter makes the agent's exporter: an unchanged set is not written again. */
export function createExporter(options: ExporterOptions): Exporter {
  const { world, log } = options;
  let lastExport: string | undefined;
  let failed = false;
  const exportSet = async (exports: readonly ExportSpec[]): Promise<void> => {
    if (options.noop) return;
    const encoded = JSON.stringify(exports);
    // Our own export changes the store and wakes our watch: an unchanged set is not written again.
    if (encoded === lastExport || options.stopping()) return;
    try {
      await world.exportResources(exports);
      lastExport = encoded;
      log.emit({ level: 'info', event: 'export', count: exports.length });
    } catch (err) {
      // A write cut short by our own shutdown (the prefix removed, etcd stopped) is no failure.
      if (options.stopping()) return;
      // Other hosts keep the previous set; the next graph change tries again.
      failed = true;
      log.emit({ level: 'error', event: 'error', phase: 'export', message: errorMessage(err) });
    }
  };
  return {
    exportSet,
    get failed() {
      return failed;
    },
  };
}
