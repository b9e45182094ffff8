// What a scenario is and what it reports: one JSON line with a figure, a baseline measured in the
// same run, their ratio, the target and whether it was met.

import { ratio, round } from './stats.js';

/** ScenarioResult is the one JSON line a scenario prints. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly unit: 'ms';
  readonly figure: number | null;
  readonly baseline: number | null;
  readonly baselineName: string;
  /** figure / baseline. */
  readonly ratio: number | null;
  /** The target in words, e.g. "ratio <= 2". */
  readonly target: string;
  readonly pass: boolean;
  /** How many measured runs (or samples) the medians and percentiles come from. */
  readonly runs: number;
  readonly [detail: string]: unknown;
}

/** ScenarioContext is what the runner gives a scenario. */
export interface ScenarioContext {
  /** A fresh empty directory under os.tmpdir(), removed after the scenario. */
  readonly tmp: string;
  /** progress writes a progress note on stderr (never on stdout, which carries the results). */
  progress(message: string): void;
}

/** Scenario is one named benchmark. */
export interface Scenario {
  readonly name: string;
  /** One line for `--list` and the summary. */
  readonly doc: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

/** ResultCore is what a scenario measured, before the ratio and rounding are applied. */
export interface ResultCore {
  readonly scenario: string;
  readonly figure: number;
  readonly baseline: number;
  readonly baselineName: string;
  readonly target: string;
  readonly pass: boolean;
  readonly runs: number;
}

/** makeResult builds a ScenarioResult with rounded figures, the ratio, and the details after them. */
export function makeResult(core: ResultCore, details: Record<string, unknown> = {}): ScenarioResult {
  return {
    scenario: core.scenario,
    unit: 'ms',
    figure: round(core.figure),
    baseline: round(core.baseline),
    baselineName: core.baselineName,
    ratio: ratio(core.figure, core.baseline),
    target: core.target,
    pass: core.pass,
    runs: core.runs,
    ...details,
  };
}

/** SubResult is a second measurement inside a scenario's line (e.g. the files re-check), with its own target. */
export interface SubResult {
  readonly figure: number | null;
  readonly baseline: number | null;
  readonly baselineName: string;
  readonly ratio: number | null;
  readonly target: string;
  readonly pass: boolean;
  /** The unit of figure and baseline when it is not milliseconds (e.g. `MB` for a peak RSS). */
  readonly unit?: string;
}

/** makeSubResult builds a SubResult with rounded figures and the ratio. */
export function makeSubResult(core: Omit<ResultCore, 'scenario' | 'runs'>, details: Record<string, unknown> = {}): SubResult {
  return {
    figure: round(core.figure),
    baseline: round(core.baseline),
    baselineName: core.baselineName,
    ratio: ratio(core.figure, core.baseline),
    target: core.target,
    pass: core.pass,
    ...details,
  };
}

/** isSubResult tells a SubResult detail apart from other details, for the summary table. */
export function isSubResult(value: unknown): value is SubResult {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return 'figure' in record && 'baseline' in record && 'ratio' in record && typeof record.pass === 'boolean' && typeof record.target === 'string';
}
