// etcd's own words for why it failed or stopped, read from its stderr (zap: one JSON object a
// line). The telling line is rarely the last: a removed member goes on to log the teardown of
// every peer stream, and a failed start ends with a stack trace.

/** REMOVED_MEMBER is how etcd says the cluster removed the member whose data it started from. */
export const REMOVED_MEMBER = 'the member has been permanently removed from the cluster';

const MAX_REASON_CHARS = 400;

interface ZapLine {
  readonly level?: unknown;
  readonly msg?: unknown;
  readonly error?: unknown;
}

/**
 * etcdReason returns the reason etcd gave in `stderr` (`msg: error` of its last fatal line, else of
 * its last "server error" or error line), or undefined when it gave none.
 */
export function etcdReason(stderr: string): string | undefined {
  let best: { rank: number; text: string } | undefined;
  for (const line of stderr.split('\n')) {
    const found = rankLine(line.trim());
    if (found && found.rank >= (best?.rank ?? 0)) best = found;
  }
  return best && best.text.length > MAX_REASON_CHARS ? `${best.text.slice(0, MAX_REASON_CHARS)}...` : best?.text;
}

// Higher ranks say more about why etcd stopped: a fatal line, then the error that stopped the
// server, then any error line.
function rankLine(line: string): { rank: number; text: string } | undefined {
  // A Go panic is plain text, not a zap line.
  if (line.startsWith('panic: ')) return { rank: 3, text: line };
  if (!line.startsWith('{')) return undefined;
  let parsed: ZapLine;
  try {
    parsed = JSON.parse(line) as ZapLine;
  } catch {
    return undefined;
  }
  const msg = typeof parsed.msg === 'string' ? parsed.msg : '';
  const error = typeof parsed.error === 'string' ? parsed.error : '';
  if (parsed.level === 'fatal' || parsed.level === 'panic') return { rank: 3, text: joinReason(msg, error) };
  if (msg === 'server error' && error !== '') return { rank: 2, text: error };
  if (parsed.level === 'error') return { rank: 1, text: joinReason(msg, error) };
  return undefined;
}

function joinReason(msg: string, error: string): string {
  return [msg, error].filter((part) => part !== '').join(': ');
}

/** oneLine joins the lines of a message with ' | ', so a log line keeps every part (a reason is often not on the first). */
export function oneLine(message: string): string {
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' | ');
}
