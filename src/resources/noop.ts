import { of } from 'rxjs';
import type { ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamsOf } from '../core/params.js';

/** noopParams declares the parameters of a noop resource. */
export const noopParams = paramTable({
  // Shown in logs and graphviz.
  comment: { type: 'string', doc: 'free text', default: '' },
});

/** NoopParams are the parameters of a noop resource. */
export type NoopParams = ParamsOf<typeof noopParams>;

/** noop is a resource that is always in its desired state; useful as a graph anchor. */
export const noop: ResourceKind<NoopParams> = {
  kind: 'noop',
  doc: 'does nothing; always converged (a point to hang edges on)',
  params: noopParams,
  refreshable: true,
  // checkApply returns at once: a signal per check was 4% of a 100,000-noop chain's CPU.
  ignoresSignal: true,
  // Any noop may share a group with any other: a group of noops is still nothing to do.
  group: { compatible: () => true },

  defaults: defaultsOf(noopParams),

  validate: () => [],

  init(_params, ctx) {
    return {
      watch: () => of(undefined),
      async checkApply() {
        if (ctx.refreshPending()) ctx.log.info('received a notification!');
        return true;
      },
    };
  },
};
