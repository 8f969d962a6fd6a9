/**
 * A file written all at once or not at all: the text goes to a temporary file beside the target (same
 * directory, so the rename stays on one file system), which is flushed to disk (fsync) and then renamed
 * over the target; the directory is synced so the rename itself survives a crash. Until `commit` the
 * target is untouched: an export that fails or is killed part way never leaves half a file under its name
 * (at worst, after a kill, a `.<name>.<random>.tmp` beside it).
 *
 * Writes go through a `FileHandle`, each awaited, buffered in memory up to 1 MiB: no stream, so no
 * listener is ever added per write.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicFile {
  /** The temporary file being written. */
  readonly tempPath: string;
  write(text: string): Promise<void>;
  /** Flushes, fsyncs, renames over the target, syncs the directory. */
  commit(): Promise<void>;
  /** Closes and removes the temporary file; the target stays as it was. Never throws. */
  abort(): Promise<void>;
}

const FLUSH_AT = 1 << 20;

/** Opens a temporary file beside `path` (mode `mode`, default 0600) that `commit` renames to `path`. */
export async function openAtomicFile(
  path: string,
  { mode = 0o600 }: { mode?: number } = {},
): Promise<AtomicFile> {
  const dir = dirname(path);
  const tempPath = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tempPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  let pending: string[] = [];
  let pendingLength = 0;
  let state: 'open' | 'committed' | 'aborted' = 'open';

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const bytes = Buffer.from(pending.join(''), 'utf8');
    pending = [];
    pendingLength = 0;
    await writeAll(handle, bytes);
  };

  const abort = async (): Promise<void> => {
    if (state !== 'open') return;
    state = 'aborted';
    pending = [];
    await handle.close().catch(() => {});
    await unlink(tempPath).catch(() => {});
  };

  return {
    tempPath,
    abort,
    async write(text) {
      if (state !== 'open') throw new Error(`${path}: the file is already ${state}`);
      pending.push(text);
      pendingLength += text.length;
      if (pendingLength >= FLUSH_AT) await flush();
    },
    async commit() {
      if (state !== 'open') throw new Error(`${path}: the file is already ${state}`);
      try {
        await flush();
        await handle.sync();
        await handle.close();
        await rename(tempPath, path);
        state = 'committed';
      } catch (error) {
        await abort();
        throw error;
      }
      await syncDirectory(dir);
    },
  };
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    offset += bytesWritten;
  }
}

/** fsync of the directory, so the rename is durable (best effort: not every platform allows it). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // Not supported here (e.g. Windows): the rename is still atomic, only its durability is the OS's.
  } finally {
    await handle?.close().catch(() => {});
  }
}
