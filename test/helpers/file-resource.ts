import { expect } from 'vitest';
import type { LiveResource } from '../../src/core/kind.js';
import { file, type FileParams } from '../../src/resources/file.js';
import { makeContext } from './context.js';

/** makeFile starts a file resource with the kind's defaults under `params`, checked valid first. */
export function makeFile(params: Partial<FileParams> & { path: string }): LiveResource {
  const full: FileParams = { ...file.defaults(params.path), ...params };
  expect(file.validate(full)).toEqual([]);
  return file.init(full, makeContext('file', params.path));
}
