import { UsageError } from '../errors.js';

/** FlagSpec declares one command-line flag. */
export interface FlagSpec {
  /** Long name without dashes, e.g. `converged-timeout`. */
  readonly name: string;
  readonly type: 'string' | 'int' | 'bool' | 'choice';
  readonly doc: string;
  /** Other long names accepted for the same flag (e.g. `file` for `yaml`). */
  readonly aliases?: readonly string[];
  /** Allowed values for `choice`. */
  readonly choices?: readonly string[];
  /** Shown in help; the value used when the flag is absent. */
  readonly default?: string | number | boolean;
  /** For string flags that may be given more than once (values are collected into a list). */
  readonly repeatable?: boolean;
}

/** ParsedFlags maps each flag's name to its value, with defaults filled in. */
export type ParsedFlags = Record<string, string | number | boolean | string[] | undefined>;

/**
 * parseFlags reads `--name value`, `--name=value` and bare boolean flags. Negative numbers are
 * values, not flags (`--converged-timeout -1`). Positional arguments are returned separately.
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], command: string): { flags: ParsedFlags; positional: string[] } {
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) {
    byName.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) byName.set(alias, spec);
  }
  const flags: ParsedFlags = {};
  for (const spec of specs) flags[spec.name] = spec.repeatable ? [] : spec.default;
  const positional: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positional.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`mgmt ${command}: unknown flag --${name} (see 'mgmt ${command} --help')`);
    let raw: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (spec.type === 'bool') {
      if (raw === undefined) flags[spec.name] = true;
      else if (raw === 'true' || raw === 'false') flags[spec.name] = raw === 'true';
      else throw new UsageError(`mgmt ${command}: --${spec.name} takes true or false, not "${raw}"`);
      continue;
    }
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`mgmt ${command}: --${spec.name} needs a value`);
      }
      raw = next;
      i++;
    }
    flags[spec.name] = convert(spec, raw, command, flags[spec.name]);
  }
  return { flags, positional };
}

function convert(spec: FlagSpec, raw: string, command: string, previous: ParsedFlags[string]): ParsedFlags[string] {
  switch (spec.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`mgmt ${command}: --${spec.name} takes a whole number, not "${raw}"`);
      return Number(raw);
    }
    case 'choice': {
      if (!spec.choices?.includes(raw)) {
        throw new UsageError(`mgmt ${command}: --${spec.name} must be one of ${spec.choices?.join(', ')}, not "${raw}"`);
      }
      return raw;
    }
    default:
      if (spec.repeatable) return [...((previous as string[] | undefined) ?? []), raw];
      return raw;
  }
}

/** formatFlagHelp renders the flag table for `--help`. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  return specs
    .map((spec) => {
      const value = spec.type === 'bool' ? '' : spec.type === 'choice' ? ` ${spec.choices?.join('|')}` : spec.type === 'int' ? ' N' : ' VALUE';
      const names = [spec.name, ...(spec.aliases ?? [])].map((name) => `--${name}`).join(', ');
      const def = spec.default !== undefined && spec.default !== false ? ` (default ${spec.default})` : '';
      return `  ${(names + value).padEnd(36)} ${spec.doc}${def}`;
    })
    .join('\n');
}
