// File helpers of the local state store and lock: durable replaces and tolerant reads.
import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw error;
  }
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write to a temp file, fsync, rename over the target, fsync the folder: a crash leaves old or new, never half. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  await syncDir(dirname(file));
}
