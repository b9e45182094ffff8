// Telling systemd how a service run is going (Type=notify) without native code: Node has no unix
// datagram sockets, so `systemd-notify` sends each message. It is run with `--pid=<the agent>`:
// as root it then passes the agent's pid in the message's credentials, so systemd attributes the
// message to the service's main process (NotifyAccess=main is enough) even though the sender is a
// short-lived child, and it waits until systemd has read the message (its barrier) before it exits.

import { errorMessage } from '../errors.js';
import type { EventLog } from '../log/events.js';
import { describeExit, runToExit } from '../os/process.js';

/** SYSTEMD_NOTIFY is the program that sends notifications; `mgmt service install` writes Type=notify only where it finds it. */
export const SYSTEMD_NOTIFY = 'systemd-notify';

/** ServiceNotifier tells the service manager that the agent is ready or stopping; both do nothing outside a notify service. */
export interface ServiceNotifier {
  /** ready says the first graph has been applied (READY=1); only the first call sends anything. */
  ready(): Promise<void>;
  /** stopping says the agent is shutting down (STOPPING=1), once. */
  stopping(): Promise<void>;
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
  return { ready: () => send('READY=1'), stopping: () => send('STOPPING=1') };
}
