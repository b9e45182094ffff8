import { describe, expect, it } from 'vitest';
import type { PkgInfo } from '../../src/pkg/backend.js';
import { isVersionState, needsAvailable, reached, transactionOf, verdict, type PlanMember } from '../../src/pkg/plan.js';

const member = (state: string, allowDowngrade = false): PlanMember => ({ name: 'p', state, allowDowngrade });
const info = (installed: string | undefined, candidate?: string, versions: string[] = candidate ? [candidate] : []): PkgInfo => ({
  name: 'p',
  installed,
  available: { candidate, versions },
});
const installedOnly = (installed: string | undefined): PkgInfo => ({ name: 'p', installed });

describe('isVersionState', () => {
  it('GIVEN the named states THEN they are not versions, anything else is', () => {
    expect(['installed', 'uninstalled', 'newest'].map(isVersionState)).toEqual([false, false, false]);
    expect(isVersionState('1.0-1')).toBe(true);
  });
});

describe('needsAvailable', () => {
  it('GIVEN each state THEN the sources are asked only when the decision needs them', () => {
    expect(needsAvailable(member('installed'), '1.0')).toBe(false);
    expect(needsAvailable(member('installed'), undefined)).toBe(true);
    expect(needsAvailable(member('uninstalled'), '1.0')).toBe(false);
    expect(needsAvailable(member('newest'), '1.0')).toBe(true);
    expect(needsAvailable(member('1.0'), '1.0')).toBe(false);
    expect(needsAvailable(member('1.0'), '2.0')).toBe(true);
  });

  it('GIVEN a run that applies (optimistic) THEN a missing installed package is installed without asking first', () => {
    expect(needsAvailable(member('installed'), undefined, true)).toBe(false);
    expect(needsAvailable(member('newest'), undefined, true)).toBe(true);
    expect(verdict(member('installed'), installedOnly(undefined), 'apt')).toEqual({ kind: 'install' });
  });
});

describe('verdict', () => {
  it('GIVEN installed WHEN any version is there THEN ok, else install the candidate', () => {
    expect(verdict(member('installed'), installedOnly('0.1'), 'apt')).toEqual({ kind: 'ok' });
    expect(verdict(member('installed'), info(undefined, '1.0'), 'apt')).toEqual({ kind: 'install' });
  });

  it('GIVEN uninstalled THEN remove what is installed', () => {
    expect(verdict(member('uninstalled'), installedOnly('1.0'), 'apt')).toEqual({ kind: 'remove' });
    expect(verdict(member('uninstalled'), installedOnly(undefined), 'apt')).toEqual({ kind: 'ok' });
  });

  it('GIVEN newest THEN ok at or above the candidate, upgrade below it, install when missing', () => {
    expect(verdict(member('newest'), info('2.0', '2.0', ['2.0', '1.0']), 'apt')).toEqual({ kind: 'ok' });
    expect(verdict(member('newest'), info('3.0', '2.0'), 'apt')).toEqual({ kind: 'ok' });
    expect(verdict(member('newest'), info('1.0', '2.0', ['2.0', '1.0']), 'apt')).toEqual({ kind: 'upgrade' });
    expect(verdict(member('newest'), info(undefined, '2.0'), 'apt')).toEqual({ kind: 'install' });
    expect(verdict(member('newest'), info('1.0', undefined), 'apt')).toEqual({ kind: 'ok' });
  });

  it('GIVEN an unknown name THEN one message names it and the backend', () => {
    const v = verdict(member('installed'), info(undefined), 'apt');
    expect(v.kind).toBe('error');
    expect(v.kind === 'error' && v.message).toMatch(/^package p is not known to apt: .*apt-get update\)$/);
    expect(verdict(member('newest'), info(undefined), 'apt').kind).toBe('error');
    expect(verdict(member('1.0'), info(undefined), 'apt').kind).toBe('error');
  });

  it('GIVEN a version WHEN offered THEN install it; not offered THEN say what is', () => {
    expect(verdict(member('1.0'), info('1.0'), 'apt')).toEqual({ kind: 'ok' });
    expect(verdict(member('1.0'), info('0:1.0'), 'apt')).toEqual({ kind: 'ok' });
    expect(verdict(member('2.0'), info('1.0', '2.0', ['2.0', '1.0']), 'apt')).toEqual({ kind: 'install', version: '2.0' });
    expect(verdict(member('9.9'), info(undefined, '2.0', ['2.0', '1.0']), 'apt')).toEqual({
      kind: 'error',
      message: 'version 9.9 of package p is not available (offered: 2.0, 1.0)',
    });
  });

  it('GIVEN an older version WHEN allowdowngrade is off THEN refuse with the hint; on THEN install it', () => {
    expect(verdict(member('1.0'), info('2.0', '2.0', ['2.0', '1.0']), 'apt')).toEqual({
      kind: 'error',
      message: 'package p would be downgraded from 2.0 to 1.0: set allowdowngrade: true to allow it',
    });
    expect(verdict(member('1.0', true), info('2.0', '2.0', ['2.0', '1.0']), 'apt')).toEqual({ kind: 'install', version: '1.0' });
  });

  it('GIVEN a known package with no candidate THEN it cannot be installed', () => {
    const v = verdict(member('installed'), { name: 'p', installed: undefined, available: { candidate: undefined, versions: ['1.0'] } }, 'apt');
    expect(v.kind === 'error' && v.message).toMatch(/no installation candidate/);
  });
});

describe('transactionOf', () => {
  it('GIVEN a group of verdicts THEN one transaction holds every change and nothing else', () => {
    const members = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, state: 'installed', allowDowngrade: false }));
    expect(
      transactionOf(members, [{ kind: 'install' }, { kind: 'ok' }, { kind: 'install', version: '2.0' }, { kind: 'upgrade' }, { kind: 'error', message: 'x' }]),
    ).toEqual({ install: [{ name: 'a' }, { name: 'c', version: '2.0' }], upgrade: ['d'], remove: [] });
    expect(transactionOf(members.slice(0, 1), [{ kind: 'remove' }])).toEqual({ install: [], upgrade: [], remove: ['a'] });
  });
});

describe('reached', () => {
  it('GIVEN each state THEN the state after the transaction is judged by the installed version', () => {
    expect(reached(member('installed'), info(undefined, '1.0'), installedOnly('1.0'))).toBe(true);
    expect(reached(member('installed'), info(undefined, '1.0'), installedOnly(undefined))).toBe(false);
    expect(reached(member('uninstalled'), installedOnly('1.0'), installedOnly(undefined))).toBe(true);
    expect(reached(member('newest'), info('1.0', '2.0'), installedOnly('2.0'))).toBe(true);
    expect(reached(member('newest'), info('1.0', '2.0'), installedOnly('1.0'))).toBe(false);
    expect(reached(member('1.0'), info('2.0'), installedOnly('1.0'))).toBe(true);
  });
});
