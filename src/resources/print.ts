import { of } from 'rxjs';
import type { ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamsOf } from '../core/params.js';

/** printParams declares the parameters of a print resource. */
export const printParams = paramTable({
  msg: { type: 'string', doc: 'the message to print', default: '' },
  // Notified over a `notify` edge.
  refresh_only: { type: 'bool', doc: 'print only when notified, not on start', default: false },
});

/** PrintParams are the parameters of a print resource. */
export type PrintParams = ParamsOf<typeof printParams>;

/** print logs `Msg: ...` once when it starts (unless refresh_only) and again on every refresh. */
export const print: ResourceKind<PrintParams> = {
  kind: 'print',
  doc: 'prints a message once, and again whenever it is notified',
  params: printParams,
  refreshable: true,
  // checkApply returns at once: a signal per check was 4% of a 100,000-noop chain's CPU.
  ignoresSignal: true,
  // Grouped prints print every member in one run; refresh-only prints wait for their own notify.
  group: { compatible: (a, b) => !a.refresh_only && !b.refresh_only, key: (p) => (p.refresh_only ? undefined : '') },

  defaults: defaultsOf(printParams),

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
