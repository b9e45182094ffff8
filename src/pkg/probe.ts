// Whether PackageKit answers on the system bus: how `--pkg-backend auto` chooses. Imported lazily,
// so a host using apt never loads dbus-next.

import * as dbus from 'dbus-next';

const PACKAGEKIT = 'org.freedesktop.PackageKit';
const PACKAGEKIT_PATH = '/org/freedesktop/PackageKit';

/**
 * packageKitAnswers resolves true when org.freedesktop.PackageKit answers a Ping on the system bus
 * within `timeoutMs` (the bus may start it on demand), false when there is no bus, no PackageKit,
 * or no answer in time. It never rejects.
 */
export async function packageKitAnswers(timeoutMs: number): Promise<boolean> {
  let bus: dbus.MessageBus | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    bus = dbus.systemBus();
    // A missing socket surfaces as an 'error' event; without a listener it would be thrown.
    const failed = new Promise<false>((resolve) => bus!.on('error', () => resolve(false)));
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const ping = bus
      .call(new dbus.Message({ destination: PACKAGEKIT, path: PACKAGEKIT_PATH, interface: 'org.freedesktop.DBus.Peer', member: 'Ping' }))
      .then(
        () => true,
        () => false,
      );
    return await Promise.race([ping, failed, timedOut]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      bus?.disconnect();
    } catch {
      // already gone
    }
  }
}
