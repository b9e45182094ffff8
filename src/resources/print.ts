import { of } from 'rxjs';
import type { ResourceKind } from './types.js';

/** PrintParams are the parameters of a print resource. */
export interface PrintParams {
  /** The message to print. */
  readonly msg: string;
  /** Print only when notified over a `notify` edge, never on start. */
  readonly refresh_only: boolean;
}

/** print logs `Msg: ...` once when it starts (unless refresh_only) and again on every refresh. */
export const print: ResourceKind<PrintParams> = {
  kind: 'print',
  doc: 'prints a message once, and again whenever it is notified',
  params: {
    msg: { type: 'string', doc: 'the message to print' },
    refresh_only: { type: 'bool', doc: 'print only when notified, not on start' },
  },
  refreshable: true,
  // Grouped prints print every member in one run; refresh-only prints wait for their own notify.
  group: { compatible: (a, b) => !a.refresh_only && !b.refresh_only, key: (p) => (p.refresh_only ? undefined : '') },

  defaults: () => ({ msg: '', refresh_only: false }),

  validate: () => [],

  init(p, ctx) {
    let printed = false;

    return {
      watch: () => of(undefined),

      async checkApply() {
        const refresh = ctx.refreshPending();
        if (!refresh && (printed || p.refresh_only)) return true;
        // Printed even in noop mode, like upstream: printing is what the resource is for.
        if (refresh) ctx.log.info('received a notification!');
        ctx.log.info(`Msg: ${p.msg}`);
        printed = true;
        return false;
      },
    };
  },
};
