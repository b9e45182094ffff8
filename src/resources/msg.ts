import { stat } from 'node:fs/promises';
import { of } from 'rxjs';
import { resolveProgram } from './exec-cmdline.js';
import { describeExit, runProcess, withStderr } from './exec-process.js';
import type { ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamProblem, type ParamsOf } from '../core/params.js';

/** MSG_PRIORITIES are the syslog priorities a message may have, most severe first (index = level). */
export const MSG_PRIORITIES = ['Emerg', 'Alert', 'Crit', 'Err', 'Warning', 'Notice', 'Info', 'Debug'] as const;

/** MsgPriority is one of MSG_PRIORITIES. */
export type MsgPriority = (typeof MSG_PRIORITIES)[number];

/** msgParams declares the parameters of a msg resource. */
export const msgParams = paramTable({
  body: { type: 'string', doc: 'the message text', default: '' },
  // Upstream requires it; we default to Info because upstream msg1.yaml omits it.
  priority: { type: 'string', doc: `one of ${MSG_PRIORITIES.join(' ')} (default Info)`, default: 'Info' },
  fields: { type: 'stringMap', doc: 'extra journal fields (names: upper case, digits and _, starting with a letter)', default: {} },
  journal: { type: 'bool', doc: 'also send the message to the systemd journal', default: false },
  // A syslog stub upstream that never sent anything.
  syslog: { type: 'bool', doc: 'send to syslog', deprecated: 'syslog output was never implemented upstream; use journal' },
});

/** MsgParams are the parameters of a msg resource. */
export type MsgParams = ParamsOf<typeof msgParams>;

// journald's rule for field names: upper-case letters, digits and '_', starting with a letter, at
// most 64 characters. Upstream validates only [A-Za-z0-9_] and then fails when sending (go-systemd
// refuses lower case); journald silently drops names starting with a digit. We check it up front.
const JOURNAL_FIELD = /^[A-Z][A-Z0-9_]{0,63}$/;
const JOURNAL_SOCKET = '/run/systemd/journal/socket';
// Used only when the agent itself runs without PATH.
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** msg logs a message once, and again on each refresh; optionally into the systemd journal. */
export const msg: ResourceKind<MsgParams> = {
  kind: 'msg',
  doc: 'logs a message (and sends it to the systemd journal) once, and again on refresh',
  params: msgParams,
  refreshable: true,

  defaults: defaultsOf(msgParams),

  validate(p) {
    const problems: ParamProblem[] = [];
    if (!(MSG_PRIORITIES as readonly string[]).includes(p.priority)) {
      problems.push({ param: 'priority', reason: `must be one of ${MSG_PRIORITIES.join(', ')}, got "${p.priority}"` });
    }
    for (const key of Object.keys(p.fields)) {
      if (!JOURNAL_FIELD.test(key)) {
        problems.push({
          param: 'fields',
          reason: `"${key}" is not a journal field name: use up to 64 upper-case letters, digits and _, starting with a letter`,
        });
      }
    }
    return problems;
  },

  init(p, ctx) {
    let logged = false;
    let journaled = false;
    let warnedNoJournal = false;

    return {
      watch: () => of(undefined),

      async checkApply(apply, signal) {
        if (ctx.refreshPending()) {
          logged = false;
          journaled = false;
        }
        let changed = false;
        if (!logged) {
          // Logged even in noop mode, like upstream: the log line is how noop shows the message.
          ctx.log.info(`Body: ${p.body}`, { priority: p.priority });
          logged = true;
          changed = true;
        }
        if (p.journal && !journaled) {
          if (!apply) return false;
          const sent = await sendToJournal(p, signal);
          if (!sent && !warnedNoJournal) {
            ctx.log.warn(`the systemd journal is not available (no ${JOURNAL_SOCKET} or no logger on PATH); logging only`);
            warnedNoJournal = true;
          }
          journaled = true;
          changed = true;
        }
        return !changed;
      },
    };
  },
};

// sendToJournal writes one journal entry with util-linux `logger --journald`, which, unlike
// systemd-cat, carries custom fields. It returns false when there is no journal to write to.
async function sendToJournal(p: MsgParams, signal: AbortSignal): Promise<boolean> {
  if (!(await exists(JOURNAL_SOCKET))) return false;
  let logger: string;
  try {
    logger = await resolveProgram('logger', process.env.PATH ?? FALLBACK_PATH);
  } catch {
    return false;
  }
  // logger reads one FIELD=value per line, so a newline inside a value would start a bogus field.
  const oneLine = (value: string): string => value.replace(/\r?\n/g, ' ');
  // The user's fields may replace our identifier, never the message or its priority.
  const entry = {
    SYSLOG_IDENTIFIER: 'mgmt',
    ...p.fields,
    MESSAGE: p.body,
    PRIORITY: String(MSG_PRIORITIES.indexOf(p.priority as MsgPriority)),
  };
  const input = Object.entries(entry).map(([key, value]) => `${key}=${oneLine(value)}\n`).join('');
  const result = await runProcess({ file: logger, args: ['--journald'], env: {}, input }, { signal });
  if (result.code !== 0) throw new Error(withStderr(`logger --journald ${describeExit(result)}`, result.stderr));
  return true;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false; // absent or unreachable: either way there is no journal for us
  }
}
