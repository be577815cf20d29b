// Slack tokens must never reach a terminal, a log or the journal. Every line the Slack clients log and
// every error message cutover builds from a Slack failure passes through a redactor that knows the token
// values, so a token that slips into a URL, a header dump or a stack trace is still masked.
import { LogLevel, type Logger } from '@slack/web-api';

const MASK = '[redacted]';

/** Returns a function that masks every occurrence of the given secrets (empty ones ignored). */
export function createRedactor(secrets: readonly string[]): (text: string) => string {
  const values = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => values.reduce((out, secret) => out.split(secret).join(MASK), text);
}

export type LogSink = (level: LogLevel, line: string) => void;

const SEVERITY: Record<LogLevel, number> = {
  [LogLevel.DEBUG]: 0,
  [LogLevel.INFO]: 1,
  [LogLevel.WARN]: 2,
  [LogLevel.ERROR]: 3,
};

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack ?? value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // Circular structures (sockets, responses) are logged by their tag rather than failing the log call.
    return Object.prototype.toString.call(value);
  }
}

/** The logger given to WebClient and SocketModeClient: filters by level, then redacts, then writes. */
export class RedactingLogger implements Logger {
  private name = 'slack';

  constructor(
    private readonly redact: (text: string) => string,
    private readonly sink: LogSink,
    private level: LogLevel = LogLevel.WARN,
  ) {}

  debug(...msg: unknown[]): void {
    this.write(LogLevel.DEBUG, msg);
  }
  info(...msg: unknown[]): void {
    this.write(LogLevel.INFO, msg);
  }
  warn(...msg: unknown[]): void {
    this.write(LogLevel.WARN, msg);
  }
  error(...msg: unknown[]): void {
    this.write(LogLevel.ERROR, msg);
  }
  setLevel(level: LogLevel): void {
    this.level = level;
  }
  getLevel(): LogLevel {
    return this.level;
  }
  setName(name: string): void {
    this.name = name;
  }

  private write(level: LogLevel, msg: unknown[]): void {
    if (SEVERITY[level] < SEVERITY[this.level]) return;
    this.sink(level, this.redact(`${this.name}: ${msg.map(describe).join(' ')}`));
  }
}

/** Default sink: stderr, so logs never mix with `plan`/`status` output on stdout. */
export const stderrSink: LogSink = (level, line) => {
  process.stderr.write(`[${level}] ${line}\n`);
};

/** `CUTOVER_SLACK_LOG=debug` shows every Slack request (tokens masked); warnings only by default. */
export function logLevelFrom(value: string | undefined): LogLevel {
  const wanted = value?.toLowerCase();
  return (Object.values(LogLevel) as string[]).includes(wanted ?? '') ? (wanted as LogLevel) : LogLevel.WARN;
}
