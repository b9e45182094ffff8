// Argument checks shared by the operators. A bad argument is a programming error in the caller, so
// it throws a RangeError when the operator is built, quoting the bad value and its type.

/** MAX_TIMER_MS is the longest delay setTimeout honours (about 24.8 days); Node fires longer ones after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** describeValue renders a value and its type for an error message, e.g. `"5" (string)`. */
export function describeValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return `${text} (${typeof value})`;
}

/** assertMilliseconds throws unless `value` is a timer delay from 0 (above 0 if `positive`) to MAX_TIMER_MS. */
export function assertMilliseconds(
  operator: string,
  name: string,
  value: unknown,
  positive = false,
): asserts value is number {
  const valid =
    typeof value === 'number' && value >= 0 && value <= MAX_TIMER_MS && !(positive && value === 0);
  if (!valid) {
    const range = `${positive ? 'above 0' : 'from 0'} to ${MAX_TIMER_MS}`;
    throw new RangeError(`${operator}: ${name} must be a number of milliseconds ${range}, got ${describeValue(value)}`);
  }
}

/** assertInteger throws unless `value` is an integer >= `min`. */
export function assertInteger(operator: string, name: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${operator}: ${name} must be an integer >= ${min}, got ${describeValue(value)}`);
  }
}
