// Turns zod issues into messages a user can act on: what was expected, what was found. zod's own texts
// ("Invalid input") name neither the field's meaning nor the value the user wrote.
import type { z } from 'zod';

type RawIssue = z.core.$ZodRawIssue;

/** A value as the user wrote it, short enough for one line. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the text ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean' || typeof value === 'bigint') return `the value ${value}`;
  return `the value ${typeof value}`;
}

const EXPECTED: Record<string, string> = {
  object: 'a map',
  array: 'a list',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  record: 'a map',
};

/** The error map given to every parse of a user file. Returns undefined to keep a schema's own message. */
export function issueMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return invalidType(issue.expected, issue.input, shapeKeys(issue.inst));
    case 'too_small':
      return tooSmall(issue.origin, Number(issue.minimum), issue.inclusive !== false, issue.input);
    case 'too_big':
      return tooBig(issue.origin, Number(issue.maximum), issue.inclusive !== false, issue.input);
    case 'invalid_value':
      return invalidValue(issue.values, issue.input);
    case 'unrecognized_keys':
      // One line per key, in the order of issue.keys: the loader reports each key at its own position.
      return issue.keys.map((key) => unknownField(key, shapeKeys(issue.inst))).join('\n');
    case 'invalid_key':
      return issue.issues[0]?.message;
    default:
      return undefined;
  }
}

function invalidType(expected: string, input: unknown, keys: string[]): string {
  const want = EXPECTED[expected] ?? expected;
  if (input === undefined) return `required field is missing; expected ${want}`;
  // `- preflight` instead of `- preflight: {}` is the classic slip in a step list.
  if (expected === 'object' && typeof input === 'string' && keys.includes(input)) {
    return `expected a map, found ${describeValue(input)}; write "${input}: {}"`;
  }
  return `expected ${want}, found ${describeValue(input)}`;
}

function tooSmall(origin: string, minimum: number, inclusive: boolean, input: unknown): string {
  if (origin === 'array') return `expected at least ${minimum} item${minimum === 1 ? '' : 's'}, found ${countOf(input)}`;
  if (origin === 'string') return `expected non-empty text, found ${describeValue(input)}`;
  return `expected a number ${inclusive ? '>=' : '>'} ${minimum}, found ${describeValue(input)}`;
}

function tooBig(origin: string, maximum: number, inclusive: boolean, input: unknown): string {
  if (origin === 'array') return `expected at most ${maximum} items, found ${countOf(input)}`;
  if (origin === 'string') return `expected at most ${maximum} characters`;
  return `expected a number ${inclusive ? '<=' : '<'} ${maximum}, found ${describeValue(input)}`;
}

function countOf(input: unknown): string {
  return Array.isArray(input) ? (input.length === 0 ? 'an empty list' : `${input.length}`) : describeValue(input);
}

function invalidValue(values: readonly unknown[], input: unknown): string {
  const expected = values.map((v) => JSON.stringify(v));
  const list = expected.length === 1 ? expected[0] : `one of ${expected.join(', ')}`;
  return `expected ${list}, found ${describeValue(input)}`;
}

function unknownField(key: string, known: string[]): string {
  const guess = closest(key, known);
  const hint = guess ? `; did you mean "${guess}"?` : '.';
  const list = known.length > 0 ? ` Known fields here: ${known.join(', ')}.` : ' No fields are allowed here.';
  return `unknown field "${key}"${hint}${list}`;
}

function shapeKeys(inst: unknown): string[] {
  const shape = (inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
  return shape ? Object.keys(shape) : [];
}

/** The known name nearest to a typo, when it is near enough to be a plausible slip. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
