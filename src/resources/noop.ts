import { of } from 'rxjs';
import type { ResourceKind } from './types.js';

/** NoopParams are the parameters of a noop resource. */
export interface NoopParams {
  /** Free text, shown in logs and graphviz. */
  readonly comment: string;
}

/** noop is a resource that is always in its desired state; useful as a graph anchor. */
export const noop: ResourceKind<NoopParams> = {
  kind: 'noop',
  doc: 'does nothing; always converged (a point to hang edges on)',
  params: {
    comment: { type: 'string', doc: 'free text' },
  },
  refreshable: true,
  // Any noop may share a group with any other: a group of noops is still nothing to do.
  group: { compatible: () => true },

  defaults: () => ({ comment: '' }),

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
