import { describe, expect, it } from 'vitest';
import { busAddress } from '../../src/dbus/connection.js';

describe('busAddress', () => {
  it('GIVEN an environment THEN the buses are found as sd-bus finds them', () => {
    expect(busAddress('system', {})).toBe('unix:path=/run/dbus/system_bus_socket');
    expect(busAddress('system', { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/x' })).toBe('unix:path=/x');
    expect(busAddress('system', { DBUS_SYSTEM_BUS_ADDRESS: '' })).toBe('unix:path=/run/dbus/system_bus_socket');
    expect(busAddress('user', { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/s', XDG_RUNTIME_DIR: '/r' })).toBe('unix:path=/s');
    expect(busAddress('user', { XDG_RUNTIME_DIR: '/r' })).toBe('unix:path=/r/bus');
    expect(busAddress('user', {})).toBe(`unix:path=/run/user/${process.getuid!()}/bus`);
  });
});
