// Turns of the event loop, as the engine, the file kind and the watchers count them. A turn is
// what runs between two polls of the loop's descriptors: the callbacks of a phase and the microtasks
// they queue. It ends at the next setImmediate, which runs after them, just before the loop polls
// again.

let turn = 0;
let startedAt = 0;
let ending = false;
// What runs once the current turn ends (atTurnEnd), in the order it was asked for.
let atEnd: Array<() => void> = [];

function endTurn(): void {
  turn++;
  ending = false;
  const callbacks = atEnd;
  if (callbacks.length === 0) return;
  atEnd = [];
  for (const callback of callbacks) callback();
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

/**
 * atTurnEnd runs `callback` once the current turn has ended: after every callback of its phase
 * and their microtasks (every inotify event libuv read in it, for one), before the loop polls again.
 */
export function atTurnEnd(callback: () => void): void {
  if (!ending) enterTurn();
  atEnd.push(callback);
}
