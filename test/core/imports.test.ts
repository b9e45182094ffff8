import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = join(import.meta.dirname, '../../src/core');

describe('src/core, the ground floor', () => {
  it.each(readdirSync(CORE).filter((name) => name.endsWith('.ts')))('GIVEN %s THEN it imports only its own floor and rxjs', (name) => {
    const text = readFileSync(join(CORE, name), 'utf8');
    const sources = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom '([^']+)'/gms)].map((match) => match[1]!);
    expect(sources.filter((source) => !/^\.\/[\w-]+\.js$/.test(source) && source !== 'rxjs')).toEqual([]);
  });
});
