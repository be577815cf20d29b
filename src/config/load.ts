// Loads a runbook and its environment: YAML → schema → cross-field rules. Every problem of both files is
// collected and thrown as ONE InputError, each located as `file:line:col path: message`, so a user fixes
// them all in one pass instead of one per run.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { InputError, type InputIssue } from '../core/errors.js';
import { locate, type FieldPath } from './locate.js';
import { describeValue, issueMessage } from './messages.js';
import { checkRules } from './rules.js';
import { salvageEnvironment, salvageRunbook } from './salvage.js';
import { API_VERSION, environmentSchema, runbookSchema } from './schema.js';
import type { Environment, LoadedRunbook, Runbook } from './types.js';

type Kind = 'Runbook' | 'Environment';

/** One user file as read: where it is, its YAML document and the plain data. */
interface SourceFile {
  /** The path as the user gave it (or as derived from the runbook), used in messages. */
  shown: string;
  absolute: string;
  doc: Document;
  lineCounter: LineCounter;
  data: unknown;
}

type Parsed<T> = { value?: T; source?: SourceFile; issues: InputIssue[] };

export interface LoadOptions {
  /** Environment file overriding the runbook's `environment:` (relative to the working directory). */
  environment?: string;
}

/**
 * Reads and validates a runbook and its environment. `runbookFile`/`environmentFile` of the result are
 * absolute; the environment path comes from `opts.environment` or the runbook's `environment:` field,
 * resolved against the runbook's folder.
 */
export async function loadRunbook(file: string, opts: LoadOptions = {}): Promise<LoadedRunbook> {
  const runbook = await parseFile(file, 'Runbook', runbookSchema);
  const envRef = environmentRef(file, runbook, opts);
  const environment = envRef ? await loadEnvironment(envRef, runbook.source) : undefined;
  const issues = [...runbook.issues, ...(environment?.issues ?? [])];
  if (environment) issues.push(...withoutRepeats(crossFileIssues(runbook, environment), issues));
  const loaded = issues.length === 0 ? loadedOf(file, runbook, environment) : undefined;
  if (!loaded) throw new InputError(summary(file, issues.length), issues);
  return loaded;
}

function loadedOf(file: string, runbook: Parsed<Runbook>, environment: Parsed<Environment> | undefined): LoadedRunbook | undefined {
  if (!runbook.value || !environment?.value || !environment.source) return undefined;
  return {
    runbook: runbook.value,
    runbookFile: resolve(file),
    environment: environment.value,
    environmentFile: environment.source.absolute,
  };
}

/**
 * Cross-file rules run even when a schema failed (on what of each file did parse), so every problem is
 * reported in one pass; a rule's finding at a field the schema already blamed is not repeated.
 */
function crossFileIssues(runbook: Parsed<Runbook>, environment: Parsed<Environment>): InputIssue[] {
  if (!runbook.source || !environment.source) return [];
  const rb = runbook.value ?? salvageRunbook(runbook.source.data);
  const env = environment.value ?? salvageEnvironment(environment.source.data);
  return rb && env ? ruleIssues(rb, env, runbook.source, environment.source) : [];
}

function summary(file: string, count: number): string {
  return `${file}: ${count} problem${count === 1 ? '' : 's'} found, nothing was changed; fix ${count === 1 ? 'it' : 'them'} and run again:`;
}

interface EnvRef {
  shown: string;
  /** Where the reference was written, to blame when the file cannot be read. */
  blame?: { source: SourceFile; path: FieldPath };
  flag: boolean;
}

function environmentRef(file: string, runbook: Parsed<Runbook>, opts: LoadOptions): EnvRef | undefined {
  if (opts.environment !== undefined) return { shown: opts.environment, flag: true };
  const written = (runbook.source?.data as { environment?: unknown } | undefined)?.environment;
  if (typeof written !== 'string' || written === '' || !runbook.source) return undefined;
  return {
    shown: isAbsolute(written) ? written : join(dirname(file), written),
    blame: { source: runbook.source, path: ['environment'] },
    flag: false,
  };
}

async function loadEnvironment(ref: EnvRef, runbookSource: SourceFile | undefined): Promise<Parsed<Environment>> {
  const parsed = await parseFile(ref.shown, 'Environment', environmentSchema, ref.flag);
  if (parsed.source || !ref.blame || !runbookSource) return parsed;
  // The file could not be read: blame the runbook line that names it, which is what the user must fix.
  const reason = parsed.issues[0]?.message ?? 'cannot be read';
  return {
    issues: [located(ref.blame.source, ref.blame.path, `environment file ${ref.shown}: ${reason}, or pass --env`)],
  };
}

async function parseFile<T>(shown: string, kind: Kind, schema: z.ZodType<T>, fromFlag = true): Promise<Parsed<T>> {
  const read = await readSource(shown, kind, fromFlag);
  if ('issue' in read) return { issues: [read.issue] };
  const source = read;
  const syntax = [...syntaxIssues(source), ...tagIssues(source)];
  if (syntax.length > 0) return { source, issues: syntax };
  const unreadable = toData(source);
  if (unreadable.length > 0) return { source, issues: unreadable };
  const header = headerIssues(source, kind);
  if (header.length > 0) return { source, issues: header };
  const result = schema.safeParse(source.data, { error: issueMessage, reportInput: true });
  if (result.success) return { source, value: result.data, issues: [] };
  return { source, issues: result.error.issues.flatMap((issue) => schemaIssues(source, issue)) };
}

/** Files larger than this are not runbooks: refuse them rather than build a huge document. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

async function readSource(shown: string, kind: Kind, fromFlag: boolean): Promise<SourceFile | { issue: InputIssue }> {
  const absolute = resolve(shown);
  let text: string;
  try {
    text = await readRegularFile(absolute, kind);
  } catch (error) {
    return { issue: { file: shown, path: '', message: readFailure(error, kind, fromFlag) } };
  }
  const lineCounter = new LineCounter();
  // `merge` lets users share gate definitions with YAML anchors and `<<:` keys.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  return { shown, absolute, doc, lineCounter, data: undefined };
}

/** Plain data of a document without syntax errors; an unresolvable alias (`*name`) is reported here. */
function toData(source: SourceFile): InputIssue[] {
  try {
    source.data = source.doc.toJS({ maxAliasCount: 1000 });
    return [];
  } catch (error) {
    // Nesting deep enough to overflow the stack is not a runbook; the engine's wording would only confuse.
    const reason =
      error instanceof RangeError
        ? 'nested too deeply (or too large) to read; expected the maps and lists of a runbook'
        : lowerFirst((error as Error).message);
    return [located(source, [], `invalid YAML: ${reason}`)];
  }
}

/**
 * Reads a user file only when it is a regular file: a FIFO or a device would block the read forever (or
 * never end). O_NONBLOCK makes the open itself return at once on a FIFO with no writer.
 */
async function readRegularFile(absolute: string, kind: Kind): Promise<string> {
  const handle = await open(absolute, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    if (!info.isFile()) {
      const what = info.isFIFO() ? 'a named pipe (FIFO)' : info.isCharacterDevice() || info.isBlockDevice() ? 'a device' : info.isSocket() ? 'a socket' : 'not a regular file';
      throw Object.assign(new Error(what), { code: 'ENOTREG', what });
    }
    if (info.size > MAX_FILE_BYTES) {
      throw Object.assign(new Error('too large'), { code: 'EFBIG', size: info.size, kind });
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

function readFailure(error: unknown, kind: Kind, fromFlag: boolean): string {
  const { code, what, size } = error as NodeJS.ErrnoException & { what?: string; size?: number };
  const flag = kind === 'Runbook' ? '-f' : '--env';
  const hint = fromFlag ? `check the path given to ${flag}` : 'check the `environment:` path of the runbook (relative to the runbook)';
  if (code === 'ENOENT') return `file not found; expected ${article(kind)} ${kind} YAML file, ${hint}`;
  if (code === 'ENOTREG') return `is ${what}, not a regular file; expected ${article(kind)} ${kind} YAML file, ${hint}`;
  if (code === 'EFBIG') return `is ${size} bytes, more than the ${MAX_FILE_BYTES / 1024 / 1024} MiB a ${kind} file may have; ${hint}`;
  if (code === 'ENOTDIR') return `a part of the path is not a folder; ${hint}`;
  if (code === 'EISDIR') return `is a folder; expected ${article(kind)} ${kind} YAML file`;
  if (code === 'EACCES') return 'permission denied; make the file readable';
  return `cannot be read (${code ?? String(error)})`;
}

const article = (kind: Kind): string => (kind === 'Environment' ? 'an' : 'a');

function syntaxIssues(source: SourceFile): InputIssue[] {
  return source.doc.errors.map((error) => {
    const { line, col } = source.lineCounter.linePos(error.pos[0]);
    const message =
      error.code === 'MULTIPLE_DOCS'
        ? 'the file holds several YAML documents (separated by ---); expected one'
        : /call stack|invalid string length/i.test(error.message)
          ? 'nested too deeply (or too large) to read; expected the maps and lists of a runbook'
          : error.message.replace(/\s+at line \d+, column \d+.*$/s, '');
    return { file: source.shown, line, col, path: '', message: `invalid YAML: ${lowerFirst(message)}` };
  });
}

/** A tag the YAML core schema does not know (`!env blue`) would silently be dropped: refuse it. */
function tagIssues(source: SourceFile): InputIssue[] {
  return source.doc.warnings.map((warning) => {
    const { line, col } = source.lineCounter.linePos(warning.pos[0]);
    const tag = /tag: (\S+)/.exec(warning.message)?.[1];
    const message =
      warning.code === 'TAG_RESOLVE_FAILED'
        ? `custom YAML tag ${tag ?? ''} is not supported: cutover reads plain YAML and would drop the tag silently; write the value itself without the tag`
        : `YAML warning: ${lowerFirst(warning.message.replace(/\s+at line \d+, column \d+.*$/s, ''))}`;
    return { file: source.shown, line, col, path: '', message };
  });
}

/** A wrong kind or apiVersion means a wrong file: report that alone rather than every field it lacks. */
function headerIssues(source: SourceFile, kind: Kind): InputIssue[] {
  const data = source.data;
  if (data === null || data === undefined) {
    return [located(source, [], `the file is empty; expected a map starting with "apiVersion: ${API_VERSION}" and "kind: ${kind}"`)];
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    return [located(source, [], `expected a map with "apiVersion: ${API_VERSION}" and "kind: ${kind}", found ${describeValue(data)}`)];
  }
  const record = data as Record<string, unknown>;
  const issues: InputIssue[] = [];
  if (record.kind !== kind) issues.push(located(source, ['kind'], kindMessage(kind, record.kind)));
  if (record.apiVersion !== API_VERSION) {
    issues.push(
      located(
        source,
        ['apiVersion'],
        `expected "${API_VERSION}", found ${describeValue(record.apiVersion)}; this version of cutover reads ${API_VERSION} files`,
      ),
    );
  }
  return issues;
}

function kindMessage(kind: Kind, found: unknown): string {
  if (kind === 'Runbook' && found === 'Environment') {
    return 'expected "Runbook", found "Environment": this is an environment file; pass a runbook with -f and this file with --env';
  }
  if (kind === 'Environment' && found === 'Runbook') {
    return 'expected "Environment", found "Runbook": this is a runbook; point `environment:` or --env at an environment file';
  }
  return `expected "${kind}", found ${describeValue(found)}`;
}

/** zod reports all unknown keys of a map in one issue; each gets its own line, at the key itself. */
function schemaIssues(source: SourceFile, issue: z.core.$ZodIssue): InputIssue[] {
  if (issue.code === 'unrecognized_keys') {
    const lines = issue.message.split('\n');
    return issue.keys.map((key, i) => located(source, [...issue.path, key], lines[i] ?? issue.message, 'key'));
  }
  return [located(source, issue.path, issue.message, issue.code === 'invalid_key' ? 'key' : 'value')];
}

function ruleIssues(runbook: Runbook, env: Environment, runbookSource: SourceFile, envSource: SourceFile): InputIssue[] {
  return checkRules(runbook, env).map((issue) =>
    located(issue.file === 'runbook' ? runbookSource : envSource, issue.path, issue.message, issue.at),
  );
}

/** Rule findings at (or inside, or around) a field that already has a problem say nothing new. */
function withoutRepeats(found: InputIssue[], reported: InputIssue[]): InputIssue[] {
  const related = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
  return found.filter((issue) => !reported.some((r) => r.file === issue.file && r.path !== '' && related(issue.path, r.path)));
}

function located(source: SourceFile, path: FieldPath, message: string, at: 'key' | 'value' = 'value'): InputIssue {
  const { line, col } = locate(source.doc, source.lineCounter, path, at);
  return { file: source.shown, line, col, path: path.map(String).join('.'), message };
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
