// One D-Bus connection per bus address per process, shared by everything that talks to that bus
// (every svc resource of an agent uses one connection to systemd), with method calls that fail
// instead of hanging when the bus goes away, and refcounted match rules for signals; and where
// the system and user buses are.
//
// dbus-next is loaded on first use: it costs ~30 ms to import, which an agent without D-Bus
// resources (or `mgmt --version`) should not pay.

import type { Message, MessageBus } from 'dbus-next';
import { Observable } from 'rxjs';
import { errorMessage } from '../errors.js';
import { abortable } from '../os/time.js';

/** BusKind says which bus: the system bus, or the user's own (where a user manager serves). */
export type BusKind = 'system' | 'user';

/** Env is the part of the environment the bus addresses come from. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * busAddress returns the D-Bus address of a bus, found as sd-bus finds it: the system bus at
 * DBUS_SYSTEM_BUS_ADDRESS or /run/dbus/system_bus_socket; the user bus at
 * DBUS_SESSION_BUS_ADDRESS, else `$XDG_RUNTIME_DIR/bus`, else `/run/user/<uid>/bus`.
 */
export function busAddress(bus: BusKind, env: Env = process.env): string {
  if (bus === 'system') return nonEmpty(env.DBUS_SYSTEM_BUS_ADDRESS) ?? 'unix:path=/run/dbus/system_bus_socket';
  const session = nonEmpty(env.DBUS_SESSION_BUS_ADDRESS);
  if (session) return session;
  const runtime = nonEmpty(env.XDG_RUNTIME_DIR) ?? `/run/user/${process.getuid?.() ?? 0}`;
  return `unix:path=${runtime}/bus`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** MethodCall names one D-Bus method call: where it goes, what it calls and its arguments. */
export interface MethodCall {
  readonly destination: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  /** The D-Bus signature of `body` ("" or absent for no arguments). */
  readonly signature?: string;
  readonly body?: readonly unknown[];
}

/** SignalRule selects the signals a listener hears; every field given must match. */
export interface SignalRule {
  /** The well-known or unique name of the sender (the bus daemon filters on it). */
  readonly sender?: string;
  readonly path?: string;
  readonly interface?: string;
  readonly member?: string;
}

/** BusSignal is one signal received: where it came from and its arguments. */
export interface BusSignal {
  readonly sender: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly body: readonly unknown[];
}

/** DBusCallError is a method call answered with a D-Bus error; `type` is its error name. */
export class DBusCallError extends Error {
  /** The D-Bus error name, e.g. `org.freedesktop.DBus.Error.ServiceUnknown`. */
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.name = 'DBusCallError';
    this.type = type;
  }
}

const BUS_DAEMON = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' } as const;
const SIGNAL = 4; // dbus-next's MessageType.SIGNAL; a constant so the module loads without dbus-next

/**
 * BusConnection is one open connection to a message bus. It closes for good when the bus goes
 * away; calls and waits in flight then fail with an error naming the address.
 */
export class BusConnection {
  readonly address: string;
  private readonly bus: MessageBus;
  private readonly newMessage: (fields: ConstructorParameters<typeof Message>[0]) => Message;
  private readonly pending = new Set<(err: Error) => void>();
  private readonly listeners = new Set<{ readonly rule: SignalRule; readonly listener: (signal: BusSignal) => void }>();
  private readonly rules = new Map<string, { count: number; readonly added: Promise<unknown> }>();
  private readonly closeListeners = new Set<(err: Error) => void>();
  private closedBy: Error | undefined;

  private constructor(address: string, bus: MessageBus, newMessage: BusConnection['newMessage']) {
    this.address = address;
    this.bus = bus;
    this.newMessage = newMessage;
    bus.on('message', (message: Message) => {
      if (message.type === (SIGNAL as unknown as Message['type'])) this.dispatch(message);
    });
    // dbus-next does not report the end of the stream on the bus object, only on its connection.
    const stream = (bus as unknown as { _connection?: { stream?: NodeJS.EventEmitter } })._connection?.stream;
    stream?.on('close', () => this.closeWith(new Error(`D-Bus connection to ${address} was closed`)));
  }

  /** open connects to the bus at `address` (a D-Bus address such as `unix:path=/run/dbus/system_bus_socket`) and says Hello. */
  static async open(address: string): Promise<BusConnection> {
    const dbus = await import('dbus-next');
    return new Promise((resolve, reject) => {
      let bus: MessageBus;
      try {
        bus = dbus.sessionBus({ busAddress: address });
      } catch (err) {
        reject(new Error(`cannot connect to D-Bus at ${address}: ${errorMessage(err)}`, { cause: err }));
        return;
      }
      // dbus-next may emit several errors (a refused socket, then writes to it): an 'error' event
      // without a listener would crash the agent, so this one stays for the bus object's life.
      let onError = (err: unknown): void => {
        onError = () => undefined;
        bus.disconnect();
        reject(new Error(`cannot connect to D-Bus at ${address}: ${errorMessage(err)}`, { cause: err }));
      };
      bus.on('error', (err: unknown) => onError(err));
      bus.once('connect', () => {
        const conn = new BusConnection(address, bus, (fields) => new dbus.Message(fields));
        onError = (err) => conn.closeWith(new Error(`D-Bus connection to ${address} failed: ${errorMessage(err)}`));
        resolve(conn);
      });
    });
  }

  /** closed is the error the connection closed with, or undefined while it is open. */
  get closed(): Error | undefined {
    return this.closedBy;
  }

  /**
   * call sends a method call and resolves with the reply's arguments. A D-Bus error reply rejects
   * with a DBusCallError; a closed connection or an aborted `signal` rejects at once.
   */
  call(method: MethodCall, signal?: AbortSignal): Promise<unknown[]> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<unknown[]>((resolve, reject) => {
      const fail = (err: Error): void => {
        settle();
        reject(err);
      };
      const onAbort = (): void => fail(signal!.reason as Error);
      const settle = (): void => {
        this.pending.delete(fail);
        signal?.removeEventListener('abort', onAbort);
      };
      this.pending.add(fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      const message = this.newMessage({
        destination: method.destination,
        path: method.path,
        interface: method.interface,
        member: method.member,
        signature: method.signature ?? '',
        body: [...(method.body ?? [])],
      });
      this.bus.call(message).then(
        (reply) => {
          settle();
          resolve(reply?.body ?? []);
        },
        (err: unknown) => {
          settle();
          const dbusError = err as { type?: unknown; text?: unknown };
          if (typeof dbusError.type === 'string') reject(new DBusCallError(dbusError.type, typeof dbusError.text === 'string' ? dbusError.text : dbusError.type));
          else reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  /**
   * listen calls `listener` for every signal matching `rule` and resolves, with the function that
   * stops listening, once the bus daemon has the match rule (signals sent after that are heard).
   * Rules are refcounted, so many listeners on one rule cost one AddMatch.
   */
  async listen(rule: SignalRule, listener: (signal: BusSignal) => void, signal?: AbortSignal): Promise<() => void> {
    const entry = { rule, listener };
    const key = matchRule(rule);
    let added = this.rules.get(key);
    if (added) added.count += 1;
    else {
      added = { count: 1, added: this.call({ ...BUS_DAEMON, member: 'AddMatch', signature: 's', body: [key] }) };
      this.rules.set(key, added);
    }
    this.listeners.add(entry);
    let removed = false;
    const remove = (): void => {
      if (removed) return;
      removed = true;
      this.listeners.delete(entry);
      const held = this.rules.get(key);
      if (!held || --held.count > 0) return;
      this.rules.delete(key);
      // The rule goes with the connection anyway; a failure to remove it early changes nothing.
      if (!this.closedBy) this.call({ ...BUS_DAEMON, member: 'RemoveMatch', signature: 's', body: [key] }).catch(() => undefined);
    };
    try {
      // Every listener of a rule waits for its AddMatch: before the reply, signals may be missed.
      await abortable(added.added, signal);
    } catch (err) {
      remove();
      throw err;
    }
    return remove;
  }

  /** onClose calls `listener` once when the connection closes (at once if it is closed); returns the function that stops it. */
  onClose(listener: (err: Error) => void): () => void {
    if (this.closedBy) {
      listener(this.closedBy);
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => void this.closeListeners.delete(listener);
  }

  /** close disconnects; calls in flight fail. */
  close(): void {
    this.closeWith(new Error(`D-Bus connection to ${this.address} was closed`));
  }

  private closeWith(err: Error): void {
    if (this.closedBy) return;
    this.closedBy = err;
    try {
      this.bus.disconnect();
    } catch {
      // already down
    }
    for (const fail of [...this.pending]) fail(err);
    for (const listener of [...this.closeListeners]) listener(err);
    this.closeListeners.clear();
  }

  private dispatch(message: Message): void {
    const signal: BusSignal = {
      sender: message.sender,
      path: message.path,
      interface: message.interface,
      member: message.member,
      body: message.body ?? [],
    };
    for (const { rule, listener } of [...this.listeners]) {
      // The sender is left to the bus daemon: a rule names a well-known name, a signal carries the owner's unique one.
      if (rule.path !== undefined && rule.path !== signal.path) continue;
      if (rule.interface !== undefined && rule.interface !== signal.interface) continue;
      if (rule.member !== undefined && rule.member !== signal.member) continue;
      listener(signal);
    }
  }
}

/** matchRule renders a SignalRule as a D-Bus match rule string. */
export function matchRule(rule: SignalRule): string {
  const parts = ["type='signal'"];
  if (rule.sender !== undefined) parts.push(`sender='${rule.sender}'`);
  if (rule.path !== undefined) parts.push(`path='${rule.path}'`);
  if (rule.interface !== undefined) parts.push(`interface='${rule.interface}'`);
  if (rule.member !== undefined) parts.push(`member='${rule.member}'`);
  return parts.join(',');
}

/** BusLease is a share of the process's connection to one bus; `release` gives the share back. */
export interface BusLease {
  readonly address: string;
  /** connection returns the open connection, opening it again if the last one closed. */
  connection(): Promise<BusConnection>;
  /** release gives the share back; the last release closes the connection. */
  release(): void;
}

interface SharedBus {
  refs: number;
  current: Promise<BusConnection> | undefined;
}

const shared = new Map<string, SharedBus>();

/**
 * leaseBus shares one connection per bus address in this process. The connection is opened on
 * the first `connection()` call, opened again after it closed, and closed by the last release.
 */
export function leaseBus(address: string): BusLease {
  let entry = shared.get(address);
  if (!entry) {
    entry = { refs: 0, current: undefined };
    shared.set(address, entry);
  }
  const bus = entry;
  bus.refs += 1;
  let released = false;
  return {
    address,
    connection() {
      if (released) return Promise.reject(new Error(`D-Bus lease on ${address} was released`));
      const current = bus.current;
      if (!current) return reopen(address, bus);
      // A closed connection or a failed attempt is replaced once, by whichever caller sees it first.
      const replace = (): Promise<BusConnection> => (bus.current === current ? reopen(address, bus) : bus.current!);
      return current.then((conn) => (conn.closed ? replace() : conn), replace);
    },
    release() {
      if (released) return;
      released = true;
      bus.refs -= 1;
      if (bus.refs > 0) return;
      shared.delete(address);
      bus.current?.then(
        (conn) => conn.close(),
        () => undefined,
      );
    },
  };
}

function reopen(address: string, bus: SharedBus): Promise<BusConnection> {
  const attempt = BusConnection.open(address);
  bus.current = attempt;
  attempt.then(
    (conn) => {
      // Released while it was opening: nobody holds it any more.
      if (shared.get(address) !== bus) conn.close();
    },
    () => undefined,
  );
  return attempt;
}

/** SignalWatchSetup is what busWatch hands the code that sets a watch up. */
export interface SignalWatchSetup<T> {
  /** Aborted when the subscriber unsubscribes (possibly while the setup is still awaiting). */
  readonly signal: AbortSignal;
  /** keep registers a release (a listener, a close handler); one kept after the unsubscribe runs at once. */
  keep(release: () => void): void;
  next(value: T): void;
  error(err: Error): void;
}

/**
 * busWatch makes a signal watch an Observable: `setup` connects, listens (through `keep`) and
 * emits; a failure of the setup errors the stream unless it was unsubscribed meanwhile, and the
 * unsubscribe releases everything kept, even what a setup still under way keeps later.
 */
export function busWatch<T>(setup: (watch: SignalWatchSetup<T>) => Promise<void>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const stop = new AbortController();
    const releases: Array<() => void> = [];
    const keep = (release: () => void): void => {
      if (stop.signal.aborted) release();
      else releases.push(release);
    };
    setup({ signal: stop.signal, keep, next: (value) => subscriber.next(value), error: (err) => subscriber.error(err) }).catch((err: unknown) => {
      if (!stop.signal.aborted) subscriber.error(err);
    });
    return () => {
      stop.abort(new Error('unsubscribed'));
      for (const release of releases.splice(0)) release();
    };
  });
}
