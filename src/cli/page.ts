// `--output html FILE`: the page is written to FILE (the table still goes to stdout, so a terminal or a CI
// log keeps its record). The file name is the command's one positional argument.
import { writeFile } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import type { CliContext } from './context.js';

/** The page to write, checked against `--output`; throws on a file without `html` or `html` without a file. */
export function pageOption(output: string, file: string | undefined): { page?: string } {
  if (output === 'html') {
    if (file === undefined || file === '') throw new InputError('--output html: name the page to write, as in `--output html cutover.html`');
    return { page: file };
  }
  if (file !== undefined) throw new InputError(`unexpected argument "${file}": only \`--output html FILE\` takes a file name`);
  return {};
}

export async function writePage(context: CliContext, file: string, html: string): Promise<void> {
  try {
    await writeFile(file, html);
  } catch (error) {
    throw new InputError(`--output html ${file}: cannot write the page (${(error as Error).message})`);
  }
  context.io.stderr.write(`page written to ${file}\n`);
}
