/**
 * Witness co-signatures on the log's checkpoints (C2SP tlog-witness, tlog-cosignature): a witness that has
 * checked a checkpoint against the log (with the tiles and consistency proofs) posts the checkpoint back with
 * its signature line added. Accepted only when the body is exactly a stored checkpoint's and the line
 * verifies with a configured witness key (`ledger.witnesses`); the line is then added to the stored note, so
 * `/checkpoint`, `warrant audit export` and `warrant audit verify --witness-key` see it.
 *
 * The lines are Ed25519 signed-note signatures (type 0x01) over the checkpoint body — what
 * `verifyCheckpoint` and `warrant audit verify --witness-key` check; timestamped cosignature/v1 lines
 * (type 0x04) are not accepted yet.
 */
import type pg from 'pg';
import { WarrantError } from '../../core/errors.ts';
import { parseCheckpoint, verifyCheckpoint } from '../checkpoint.ts';
import { sameBytes } from '../store/validate.ts';

export interface CosignResult {
  readonly size: number;
  /** The witness keys whose lines were added now (already stored ones are not repeated). */
  readonly added: string[];
  readonly note: string;
}

/**
 * Verifies `note` against the stored checkpoint of its size and the witness keys, and stores the new lines.
 * Throws `WARRANT_LEDGER_COSIGNATURE_INVALID` (the note is malformed, no stored checkpoint has its size and
 * root, or no line by a configured witness verifies).
 */
export async function addCosignatures(
  pool: pg.Pool,
  note: string,
  witnessKeys: readonly string[],
  origin: string,
): Promise<CosignResult> {
  let parsed: ReturnType<typeof parseCheckpoint>;
  try {
    parsed = parseCheckpoint(note);
  } catch (error) {
    throw refused((error as Error).message);
  }
  if (parsed.origin !== origin) throw refused('the checkpoint is not of this log (origin)');
  const good: string[] = [];
  for (const key of witnessKeys) {
    try {
      verifyCheckpoint(note, [key]);
      good.push(key);
    } catch {
      // Not signed by this witness, or its line does not verify: not accepted.
    }
  }
  if (good.length === 0) throw refused('no signature line verifies with a configured witness key');
  // Optimistic: a concurrent co-signature changes the note; read again and retry.
  for (let attempt = 0; attempt < 5; attempt++) {
    const { rows } = await pool.query<{ root: Uint8Array; note: string }>(
      'SELECT root, note FROM ledger_checkpoints WHERE size = $1',
      [parsed.size],
    );
    const stored = rows[0];
    if (!stored || !sameBytes(new Uint8Array(stored.root), parsed.root))
      throw refused(`no checkpoint of size ${parsed.size} with this root is stored`);
    const lines = witnessLines(note, good);
    const missing = lines.filter((l) => !stored.note.includes(`\n${l}\n`));
    if (missing.length === 0) return { size: parsed.size, added: [], note: stored.note };
    const next = `${stored.note}${missing.map((l) => `${l}\n`).join('')}`;
    const updated = await pool.query(
      'UPDATE ledger_checkpoints SET note = $1 WHERE size = $2 AND note = $3',
      [next, parsed.size, stored.note],
    );
    if (updated.rowCount === 1) {
      const added = good.filter((k) => witnessLines(`x\n\n${missing.join('\n')}\n`, [k]).length > 0);
      return { size: parsed.size, added, note: next };
    }
  }
  throw new WarrantError('WARRANT_LEDGER_WRITE_FAILED', 'the co-signature could not be stored; retry');
}

/** The signature lines of `note` by the given (verified) witness keys: name and key hash both match. */
function witnessLines(note: string, keys: readonly string[]): string[] {
  const ids = new Set(keys.map((k) => k.split('+').slice(0, 2).join('+')));
  const lines = note
    .slice(note.lastIndexOf('\n\n') + 2)
    .split('\n')
    .filter(Boolean);
  return lines.filter((line) => {
    const [, name, blob] = line.split(' ');
    const keyHash = Buffer.from(blob ?? '', 'base64')
      .subarray(0, 4)
      .toString('hex');
    return ids.has(`${name}+${keyHash}`);
  });
}

function refused(message: string): WarrantError {
  return new WarrantError('WARRANT_LEDGER_COSIGNATURE_INVALID', `co-signature refused: ${message}`);
}
