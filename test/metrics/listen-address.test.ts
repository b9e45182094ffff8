import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { DEFAULT_PROMETHEUS_LISTEN, parseListenAddress } from '../../src/metrics/listen-address.js';

describe('parseListenAddress', () => {
  it.each([
    [DEFAULT_PROMETHEUS_LISTEN, '127.0.0.1', 9233],
    ['0.0.0.0:80', '0.0.0.0', 80],
    [':52637', '', 52637], // upstream's prometheus-2.sh: every interface
    ['[::1]:9233', '::1', 9233],
    ['[::]:0', '::', 0],
    ['localhost:9233', 'localhost', 9233],
    ['metrics.example.org:65535', 'metrics.example.org', 65535],
  ])('GIVEN %s THEN it listens on host %j, port %i', (text, host, port) => {
    expect(parseListenAddress(text)).toEqual({ host, port, text });
  });

  it.each([
    ['9233', 'not host:port'],
    ['127.0.0.1', 'not host:port'],
    ['127.0.0.1:', 'not host:port'],
    ['127.0.0.1:http', 'not host:port'],
    ['127.0.0.1:65536', 'port 65536 is above 65535'],
    ['127.0.0.1:-1', 'not host:port'],
    ['::1:9233', 'an IPv6 address needs brackets'],
    ['[127.0.0.1]:9233', 'is not an IPv6 address'],
    ['[::1]9233', 'not host:port'],
    ['bad_host!:9233', 'is not an IP address or host name'],
    ['host\n:9233', 'is not an IP address or host name'],
  ])('GIVEN %j THEN a usage error naming the flag says %s', (text, why) => {
    let error: unknown;
    try {
      parseListenAddress(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).toContain('--prometheus-listen');
    expect(message).toContain(why);
    // One line, whatever the input held.
    expect(message).not.toContain('\n');
  });
});
