import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { restoreExtraCaCerts, SAVED_EXTRA_CA_CERTS } from '../../src/cli/extra-ca-certs.js';
import { main } from '../../src/cli/main.js';

const sink = (): Writable => new Writable({ write: (_chunk, _encoding, done) => done() });

describe('restoreExtraCaCerts', () => {
  it('GIVEN the launcher kept NODE_EXTRA_CA_CERTS aside THEN it is put back and the saved copy removed', () => {
    const env: NodeJS.ProcessEnv = { [SAVED_EXTRA_CA_CERTS]: '/etc/ssl/certs/extra.pem', PATH: '/bin' };
    restoreExtraCaCerts(env);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/extra.pem', PATH: '/bin' });
  });

  it('GIVEN the operator had not set it (the launcher saved an empty value) THEN it stays unset', () => {
    const env: NodeJS.ProcessEnv = { [SAVED_EXTRA_CA_CERTS]: '' };
    restoreExtraCaCerts(env);
    expect(env).toEqual({});
  });

  it('GIVEN nothing kept aside (node started directly) THEN the environment is left as it is', () => {
    const env: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '/own.pem' };
    restoreExtraCaCerts(env);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/own.pem' });
  });

  describe('main', () => {
    const before = { saved: process.env[SAVED_EXTRA_CA_CERTS], extra: process.env.NODE_EXTRA_CA_CERTS };
    afterEach(() => {
      for (const [key, value] of [[SAVED_EXTRA_CA_CERTS, before.saved], ['NODE_EXTRA_CA_CERTS', before.extra]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });

    it('GIVEN the launcher kept it aside WHEN any command runs THEN the process environment has it back before the command', async () => {
      delete process.env.NODE_EXTRA_CA_CERTS;
      process.env[SAVED_EXTRA_CA_CERTS] = '/etc/ssl/certs/extra.pem';
      expect(await main(['--version'], { stdout: sink(), stderr: sink() })).toBe(0);
      expect(process.env.NODE_EXTRA_CA_CERTS).toBe('/etc/ssl/certs/extra.pem');
      expect(process.env[SAVED_EXTRA_CA_CERTS]).toBeUndefined();
    });
  });
});
