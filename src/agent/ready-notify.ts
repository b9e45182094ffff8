// Telling systemd how a service run is going (Type=notify) without native code: Node has no unix
// datagram sockets, so `systemd-notify` sends each message. It is run with `--pid=<the agent>`:
// as root it then passes the agent's pid in the message's credentials, so systemd attributes the
// message to the service's main process (NotifyAccess=main is enough) even though the sender is a
// short-lived child, and it waits until systemd has read the message (its barrier) before it exits.

import { filter, map, type Observable, race, type SchedulerLike, Subscription, take, timer } from 'rxjs';
import { errorMessage } from '../errors.js';
import type { EventLog } from '../log/events.js';
import { describeExit, runToExit } from '../os/process.js';
import { convergedStates } from './converged.js';

// A resource that keeps failing and retrying would hold the first pass, and with it the boot
// (multi-user.target waits for the units it wants), forever: the agent says ready after this long
// at the latest, with a warning.
const READY_AT_THE_LATEST_MS = 5 * 60_000;

/** SYSTEMD_NOTIFY is the program that sends notifications; `mgmt service install` writes Type=notify only where it finds it. */
export const SYSTEMD_NOTIFY = 'systemd-notify';

/** ServiceNotifier tells the service manager that the agent is ready or stopping; it does nothing outside a notify service. */
export interface ServiceNotifier {
  /** stopping says the agent is shutting down (STOPPING=1), once. */
  stopping(): Promise<void>;
  /** readyAfterFirstPass sends READY=1 when firstPassDone says so (a warning first if it was late); nothing to subscribe outside a notify service. */
  readyAfterFirstPass(idle$: Observable<boolean>): Subscription;
}

/**
 * firstPassDone emits once, `true`, when the first graph has been applied: the engine is idle
 * (every resource checked once, and repaired or failed for good), the moment a
 * `--converged-timeout=0` run exits; or `false` after `latestMs` if that has not happened yet.
 */
export function firstPassDone(idle$: Observable<boolean>, latestMs = READY_AT_THE_LATEST_MS, scheduler?: SchedulerLike): Observable<boolean> {
  return race(convergedStates(idle$, undefined, 0).pipe(filter(Boolean)), timer(latestMs, scheduler).pipe(map(() => false))).pipe(take(1));
}

/**
 * serviceNotifier takes NOTIFY_SOCKET out of the environment (so no command the agent runs talks
 * to systemd as the service) and returns the notifier that uses it. A failure to notify, such as a
 * missing systemd-notify, is one warning, never fatal, and the notifier is silent after it.
 */
export function serviceNotifier(log: EventLog, env: NodeJS.ProcessEnv = process.env): ServiceNotifier {
  const socket = env.NOTIFY_SOCKET;
  delete env.NOTIFY_SOCKET;
  let broken = socket === undefined || socket === '';
  const sent = new Set<string>();
  const send = async (message: string): Promise<void> => {
    if (broken || sent.has(message)) return;
    sent.add(message);
    try {
      const result = await runToExit({ file: SYSTEMD_NOTIFY, args: [`--pid=${process.pid}`, message], env: { ...env, NOTIFY_SOCKET: socket } });
      if (result.code !== 0) throw new Error(`${describeExit(result)}${result.stderr ? `: ${result.stderr.trim()}` : ''}`);
    } catch (err) {
      broken = true;
      log.emit({ level: 'warn', event: 'warning', message: `cannot tell systemd ${message} with ${SYSTEMD_NOTIFY}: ${errorMessage(err)} (the service's readiness is not reported)` });
    }
  };
  return {
    stopping: () => send('STOPPING=1'),
    readyAfterFirstPass: (idle$) => {
      if (broken) return new Subscription();
      return firstPassDone(idle$).subscribe((done) => {
        if (!done) log.emit({ level: 'warn', event: 'warning', message: `the first pass is not done after ${READY_AT_THE_LATEST_MS / 1000} s (a resource still running or retrying): telling systemd the service is ready all the same` });
        void send('READY=1');
      });
    },
  };
}
