// Durations on the command line, as operators write them: `90s`, `15m`, `12h`, `30d`.

import { UsageError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** parseDuration reads `<number><unit>` (ms, s, m, h, d) into ms; anything else is a UsageError naming the flag. */
export function parseDuration(text: string, flag: string, min = 1): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2]!]!) : NaN;
  if (!Number.isFinite(ms) || ms < min) throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a duration like 90s, 15m, 12h or 30d${min > 1 ? ` of at least ${min} ms` : ''}`);
  return ms;
}
