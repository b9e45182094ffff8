// Turns of the event loop, as the engine and the file kind count them. A turn is what runs between
// two polls of the loop's descriptors: the callbacks of a phase and the microtasks they queue. It
// ends at the next setImmediate, which runs after them, just before the loop polls again.

let turn = 0;
let startedAt = 0;
let ending = false;

function endTurn(): void {
  turn++;
  ending = false;
}

function enterTurn(): void {
  ending = true;
  startedAt = performance.now();
  setImmediate(endTurn);
}

/** eventLoopTurn numbers the current turn: it changes once the microtasks queued in it have run. */
export function eventLoopTurn(): number {
  if (!ending) enterTurn();
  return turn;
}

/** turnElapsedMs is how long the current turn has run, in ms, since the first ask of it (0 then). */
export function turnElapsedMs(): number {
  if (!ending) {
    enterTurn();
    return 0;
  }
  return performance.now() - startedAt;
}
