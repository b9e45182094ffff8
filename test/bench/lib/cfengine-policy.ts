// The CFEngine side of the peer scenarios: a policy that makes cf-agent ensure exactly the files
// of a manifest, written from the same manifest as the agent's YAML graph.

import type { Manifest } from './manifest.js';

/**
 * cfString renders a value as a CFEngine double-quoted string that expands to exactly that value:
 * a backslash and a double quote are escaped, a `$` becomes `$(const.dollar)` so that nothing is
 * taken for a variable, and newlines stay literal (checked byte for byte against cf-agent 3.21).
 */
export function cfString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '$(const.dollar)')}"`;
}

/** cfenginePolicy is a complete policy (one bundle, no inputs, no hub) of one `files` promise per managed file, each with `create` and `content` (CFEngine >= 3.16). */
export function cfenginePolicy(manifest: Manifest): string {
  const lines = ['body common control', '{', '  bundlesequence => { "main" };', '}', '', 'bundle agent main', '{', '  files:'];
  for (const file of manifest.files) {
    lines.push(`    ${cfString(file.path)}`, '      create => "true",', `      content => ${cfString(file.content)};`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
