// Interleaved measurement: two sides measured in turn, the order swapped on every repetition.

/** interleaved runs `a` then `b` on even repetitions and `b` then `a` on odd ones, so neither side always meets the other's leftovers (a fresh page cache, pending writeback) first. */
export async function interleaved<A, B>(repetition: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  if (repetition % 2 === 0) {
    const first = await a();
    return [first, await b()];
  }
  const second = await b();
  return [await a(), second];
}
