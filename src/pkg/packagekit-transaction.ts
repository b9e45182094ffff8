// One PackageKit transaction over D-Bus: CreateTransaction, SetHints, the method, then the
// transaction's signals (Package, Files, ErrorCode) until Finished. Every signal
// rule is in place before the method is called, so none is missed.

import type { BusConnection, BusSignal } from '../dbus/connection.js';
import { errorMessage } from '../errors.js';
import { errorName, exitName, PK_EXIT_SUCCESS } from './packagekit-enums.js';
import type { PackageSignal } from './packagekit-ids.js';

/** PACKAGEKIT is PackageKit's bus name. */
export const PACKAGEKIT = 'org.freedesktop.PackageKit';
/** PACKAGEKIT_PATH is the path of PackageKit's daemon object. */
export const PACKAGEKIT_PATH = '/org/freedesktop/PackageKit';
const TRANSACTION = 'org.freedesktop.PackageKit.Transaction';
const BUS_DAEMON = { sender: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' } as const;
// Non-interactive: no polkit dialogue is ever waited for; C: apt's and dpkg's messages in English, as the log is.
const HINTS = ['interactive=false', 'locale=C.UTF-8'];

/** TransactionCall is the method a transaction runs and its arguments. */
export interface TransactionCall {
  /** member is the Transaction method: `Resolve`, `InstallPackages`, `GetFiles`, ... */
  readonly member: string;
  /** signature is the D-Bus signature of `body` (`tas`, `tasbb`, `as`). */
  readonly signature: string;
  readonly body: readonly unknown[];
}

/** TransactionResult is what a successful transaction said. */
export interface TransactionResult {
  /** path is the transaction's object path. */
  readonly path: string;
  readonly packages: readonly PackageSignal[];
  /** files maps a package id to the paths GetFiles listed for it. */
  readonly files: ReadonlyMap<string, readonly string[]>;
  /** runtimeMs is how long PackageKit says it ran. */
  readonly runtimeMs: number;
}

/** PackageKitError is a transaction that did not succeed, with PackageKit's own exit and error code. */
export class PackageKitError extends Error {
  /** exit is the Finished exit name (`failed`, `need-untrusted`, `cancelled`), or `unfinished`. */
  readonly exit: string;
  /** code is the ErrorCode name (`package-not-found`, `cannot-get-lock`), undefined when none came. */
  readonly code: string | undefined;
  /** details is PackageKit's text for the error. */
  readonly details: string;
  constructor(message: string, fields: { exit: string; code: string | undefined; details: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PackageKitError';
    this.exit = fields.exit;
    this.code = fields.code;
    this.details = fields.details;
  }
}

/** RunningTransaction is a started transaction: `result` settles with its outcome, or at once on abort; `ended` once PackageKit is done with it. */
export interface RunningTransaction {
  readonly result: Promise<TransactionResult>;
  /** ended resolves when the transaction finished, was destroyed, or PackageKit or the bus went away; it never rejects. */
  readonly ended: Promise<void>;
}

/**
 * runTransaction runs one PackageKit transaction on `conn`. A transaction that fails rejects with
 * a PackageKitError; an abort asks PackageKit to cancel it (PackageKit refuses while dpkg runs)
 * and rejects with the signal's reason at once, while `ended` still waits for PackageKit.
 */
export function runTransaction(conn: BusConnection, call: TransactionCall, signal?: AbortSignal): RunningTransaction {
  let markEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  return { result: run(conn, call, signal, () => markEnded()), ended };
}

async function run(conn: BusConnection, call: TransactionCall, signal: AbortSignal | undefined, markEnded: () => void): Promise<TransactionResult> {
  const what = `PackageKit ${call.member}`;
  let path: unknown;
  try {
    signal?.throwIfAborted();
    [path] = await conn.call({ destination: PACKAGEKIT, path: PACKAGEKIT_PATH, interface: PACKAGEKIT, member: 'CreateTransaction' }, signal);
  } catch (err) {
    // A transaction that never got going has nothing to wait for.
    markEnded();
    if (signal?.aborted) throw signal.reason;
    throw new Error(`${what}: cannot create a PackageKit transaction on ${conn.address}: ${errorMessage(err)}`, { cause: err });
  }
  const tid = String(path);
  const packages: PackageSignal[] = [];
  const files = new Map<string, string[]>();
  const errors: Array<{ code: string; details: string }> = [];
  const releases: Array<() => void> = [];
  let settle!: { resolve: (finished: { exit: number; runtime: number }) => void; reject: (err: Error) => void };
  const finished = new Promise<{ exit: number; runtime: number }>((resolve, reject) => (settle = { resolve, reject }));
  // Settled by whichever comes first; the listeners stay until PackageKit is done, for `ended`.
  finished.catch(() => undefined);
  let done = false;
  let sent = false;
  const end = (): void => {
    if (done) return;
    done = true;
    for (const release of releases.splice(0)) release();
    markEnded();
  };

  const onSignal = (s: BusSignal): void => {
    switch (s.member) {
      case 'Package':
        packages.push({ info: Number(s.body[0]), id: String(s.body[1]), summary: String(s.body[2]) });
        break;
      case 'Files': {
        const list = files.get(String(s.body[0])) ?? [];
        list.push(...(s.body[1] as string[]));
        files.set(String(s.body[0]), list);
        break;
      }
      case 'ErrorCode':
        errors.push({ code: errorName(Number(s.body[0])), details: String(s.body[1]).trim() });
        break;
      case 'Finished':
        settle.resolve({ exit: Number(s.body[0]), runtime: Number(s.body[1]) });
        end();
        break;
      case 'Destroy':
        settle.reject(new PackageKitError(`${what} was destroyed before it finished`, { exit: 'unfinished', code: undefined, details: '' }));
        end();
        break;
    }
  };

  try {
    releases.push(conn.onClose((err) => (settle.reject(err), end())));
    releases.push(await conn.listen({ sender: PACKAGEKIT, path: tid, interface: TRANSACTION }, onSignal, signal));
    releases.push(
      await conn.listen(
        { ...BUS_DAEMON, member: 'NameOwnerChanged' },
        (s) => {
          if (s.body[0] !== PACKAGEKIT || s.body[2] !== '') return;
          settle.reject(new PackageKitError(`${what}: PackageKit exited before the transaction finished`, { exit: 'unfinished', code: undefined, details: '' }));
          end();
        },
        signal,
      ),
    );
    await conn.call({ destination: PACKAGEKIT, path: tid, interface: TRANSACTION, member: 'SetHints', signature: 'as', body: [HINTS] }, signal);
    sent = true;
    await conn.call({ destination: PACKAGEKIT, path: tid, interface: TRANSACTION, member: call.member, signature: call.signature, body: [...call.body] }, signal);
  } catch (err) {
    if (sent && signal?.aborted) {
      // It may have started: PackageKit is asked to cancel it, and `ended` waits for its end.
      cancel(conn, tid);
      throw signal.reason;
    }
    end();
    if (signal?.aborted) throw signal.reason;
    throw new Error(`${what}: ${errorMessage(err)}`, { cause: err });
  }

  const { exit, runtime } = await waitOrCancel(conn, tid, finished, signal);
  if (exit !== PK_EXIT_SUCCESS) {
    const first = errors[0];
    const reason = first ? `${first.code}: ${first.details}` : 'no error code';
    throw new PackageKitError(`${what} ${exitName(exit)}: ${reason}`, { exit: exitName(exit), code: first?.code, details: first?.details ?? '' });
  }
  return { path: tid, packages, files, runtimeMs: runtime };
}

// Waits for Finished; an abort asks PackageKit to cancel the transaction and stops waiting.
function waitOrCancel<T>(conn: BusConnection, tid: string, finished: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return finished;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      cancel(conn, tid);
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    finished.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

// PackageKit cancels when it safely can (never while dpkg runs); a refusal changes nothing here.
function cancel(conn: BusConnection, tid: string): void {
  conn.call({ destination: PACKAGEKIT, path: tid, interface: TRANSACTION, member: 'Cancel' }).catch(() => undefined);
}
