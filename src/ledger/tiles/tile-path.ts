/**
 * C2SP tlog-tiles resource paths (https://c2sp.org/tlog-tiles): `tile/<L>/<N>[.p/<W>]` and
 * `tile/entries/<N>[.p/<W>]`, where `<N>` is the tile index written in groups of three decimal digits, all
 * but the last prefixed with `x` (1234067 → `x001/x234/067`), and `<W>` the width of a partial tile
 * (1..255). Parsing is strict: one index, one spelling.
 */
import { TILE_WIDTH } from './tile-edge.ts';

export interface TilePath {
  /** `null` for an entry bundle. */
  readonly level: number | null;
  readonly index: number;
  /** 256 for a full tile. */
  readonly width: number;
}

const INDEX = /^(?:x[0-9]{3}\/)*[0-9]{3}$/;
const WIDTH = /^[1-9][0-9]{0,2}$/;
const LEVEL = /^(?:0|[1-9][0-9]?)$/;

/** `<N>` of a tile index. */
export function formatTileIndex(index: number): string {
  let text = String(index % 1000).padStart(3, '0');
  let rest = Math.floor(index / 1000);
  while (rest > 0) {
    text = `x${String(rest % 1000).padStart(3, '0')}/${text}`;
    rest = Math.floor(rest / 1000);
  }
  return text;
}

/** The path (after `tile/`) of a tile or, with `level` null, an entry bundle. */
export function formatTilePath(tile: TilePath): string {
  const head = tile.level === null ? 'entries' : String(tile.level);
  const tail = tile.width === TILE_WIDTH ? '' : `.p/${tile.width}`;
  return `${head}/${formatTileIndex(tile.index)}${tail}`;
}

/** The tile a path (after `tile/`) names, or `null` when it is not a well-formed tile path. */
export function parseTilePath(path: string): TilePath | null {
  const slash = path.indexOf('/');
  if (slash < 0) return null;
  const head = path.slice(0, slash);
  let rest = path.slice(slash + 1);
  let level: number | null;
  if (head === 'entries') level = null;
  else if (LEVEL.test(head) && Number(head) < 64) level = Number(head);
  else return null;
  let width = TILE_WIDTH;
  const partial = rest.lastIndexOf('.p/');
  if (partial >= 0) {
    const w = rest.slice(partial + 3);
    if (!WIDTH.test(w) || Number(w) >= TILE_WIDTH) return null;
    width = Number(w);
    rest = rest.slice(0, partial);
  }
  if (!INDEX.test(rest)) return null;
  const groups = rest.split('/').map((g) => g.replace(/^x/, ''));
  // A leading group of 000 would give the same index two spellings.
  if (groups.length > 1 && groups[0] === '000') return null;
  const index = groups.reduce((n, g) => n * 1000 + Number(g), 0);
  if (!Number.isSafeInteger(index)) return null;
  return { level, index, width };
}
