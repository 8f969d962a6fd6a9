/**
 * Reads the export line by line into the state: each line decoded (UTF-8) and parsed (JSON), then handed
 * to its phase — line 1 to the header, then record and checkpoint lines. A line that cannot be read is a
 * problem naming it; before the checkpoints it stands for the record expected there, so the lines after
 * it keep their numbering. Reading stops at a header it cannot use and after `maxProblems` problems.
 */

import { EXPORT_TYPE } from '../export.ts';
import { readCheckpointLine } from './checkpoints.ts';
import { readHeader } from './header.ts';
import { type Line, MAX_LINE_BYTES, splitLines } from './lines.ts';
import { fastRecord, readRecord } from './records.ts';
import type { VerifyState } from './state.ts';
import { clean, describeIoError, isObject, show } from './text.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });

export async function readExport(
  input: AsyncIterable<Uint8Array | string>,
  state: VerifyState,
): Promise<void> {
  try {
    for await (const line of splitLines(input, MAX_LINE_BYTES)) {
      state.lastLine = line.n;
      if (!readLine(state, line)) break;
    }
  } catch (error) {
    state.malformed(0, `cannot read the export: ${clean(describeIoError(error))}`);
  }
  if (state.lastLine === 0) state.malformed(1, 'the file is empty: line 1 must be the export header');
}

/** Reads one line; `false` when reading stops. */
function readLine(state: VerifyState, line: Line): boolean {
  const n = line.n;
  const cut = line.terminated ? '' : ' (the file ends in the middle of this line: truncated?)';
  if (line.bytes === null) {
    state.malformed(
      n,
      `the line is ${line.length} bytes, longer than the ${MAX_LINE_BYTES}-byte limit: not a ledger export line`,
    );
    if (n === 1) return false;
    state.unreadRecord(n);
    return !state.stopped;
  }
  let text: string;
  try {
    text = decoder.decode(line.bytes);
  } catch {
    state.malformed(n, `not UTF-8 text (binary data?)${cut}`);
    if (n === 1 || state.stopped) return false;
    state.unreadRecord(n);
    return true;
  }
  // Record lines as the exporter writes them take the fast path: only the record itself is parsed.
  const fast = n > 1 ? fastRecord(text) : null;
  let value: unknown;
  try {
    value = fast ? { type: 'record', index: fast.index, record: fast.record } : JSON.parse(text);
  } catch (error) {
    state.malformed(
      n,
      text.trim() === '' ? `an empty line${cut}` : `not JSON: ${clean((error as Error).message)}${cut}`,
    );
    if (n === 1 || state.stopped) return false;
    state.unreadRecord(n);
    return true;
  }
  if (!line.terminated) state.malformed(n, 'the last line does not end with a newline (truncated file?)');
  const obj = isObject(value) ? value : null;
  if (n === 1) return readHeader(state, obj);
  const type = obj?.['type'];
  if (type === 'record') readRecord(state, n, obj!, line.bytes, text, fast);
  else if (type === 'checkpoint') readCheckpointLine(state, n, obj!);
  else if (type === EXPORT_TYPE)
    state.malformed(n, 'a second header: only line 1 is a header (two exports joined?)');
  else {
    state.malformed(n, `unknown line type ${show(type)}: expected "record" or "checkpoint"`);
    state.unreadRecord(n);
  }
  return !state.stopped;
}
