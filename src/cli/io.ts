// What a command may touch of the outside world: its output streams, the environment variables, the
// terminal and the process signals. Injected so tests can run `main()` in-process and read what it wrote.
import { createInterface } from 'node:readline/promises';

export interface Writer {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  env: Record<string, string | undefined>;
  /** Is there a human at a terminal to answer a question? */
  interactive: boolean;
  /** Asks a yes/no question; resolves true only on an explicit yes. */
  confirm(question: string): Promise<boolean>;
  /** Calls `handler` on the first SIGINT or SIGTERM; returns a function that stops listening. */
  onInterrupt(handler: (signal: string) => void): () => void;
}

export function processIo(): CliIo {
  return {
    stdout: survivingWriter(process.stdout),
    stderr: survivingWriter(process.stderr),
    env: process.env,
    interactive: process.stdin.isTTY === true,
    confirm: askOnTerminal,
    onInterrupt: listenForInterrupt,
  };
}

/**
 * A stream whose reader may go away (`cutover execute | head -1`, a pager quit, a lost `tee`): a run must
 * never die because its output did. After EPIPE (or any write error) the stream is dropped and further
 * writes go nowhere; the journal, not the terminal, is the run's record.
 */
export function survivingWriter(stream: NodeJS.WriteStream): Writer {
  let closed = false;
  stream.on('error', () => {
    closed = true;
  });
  return {
    write(text: string): boolean {
      if (closed || stream.destroyed || stream.writableEnded) return false;
      try {
        return stream.write(text);
      } catch {
        closed = true;
        return false;
      }
    },
    get isTTY() {
      return stream.isTTY === true;
    },
    get columns() {
      return stream.columns;
    },
  };
}

async function askOnTerminal(question: string): Promise<boolean> {
  // The question goes to stderr, so stdout can be redirected to a file and the prompt is still seen.
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

function listenForInterrupt(handler: (signal: string) => void): () => void {
  // `once`: a second Ctrl-C finds no listener and ends the process the usual way, for an operator who
  // cannot wait for the safe stop.
  const onSignal = (signal: NodeJS.Signals): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    handler(signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org) or --no-color given. */
export function useColor(io: CliIo, flag: boolean | undefined, stream: Writer = io.stdout): boolean {
  if (flag === false) return false;
  const noColor = io.env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  return stream.isTTY === true;
}

export interface Paint {
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const sgr =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`;

const plain = (text: string): string => text;

export function paint(color: boolean): Paint {
  if (!color) return { red: plain, yellow: plain, green: plain, dim: plain, bold: plain };
  return { red: sgr(31, 39), yellow: sgr(33, 39), green: sgr(32, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}
