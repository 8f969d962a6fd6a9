/**
 * The counters in Redis, shared by every gateway replica: each batch is ONE Lua script (atomic, one round
 * trip), keys under a prefix, every key with an expiry. Counts are integers per fixed window
 * (`<key>:<window index>`, kept two windows); a baseline is a hash `<key>:b` {w, m}; sets and state
 * values expire `ttl` after their last write. One Redis primary (no cluster: a batch's keys are derived
 * inside the script).
 *
 * Fails closed, fast: the hot-state connection options (no offline queue, `redis.commandTimeoutMs`) make a
 * Redis that is down or slow reject at once, as {@link CountersUnavailableError}.
 */
import type { Redis } from 'ioredis';
import {
  BASELINE_TTL_SECONDS,
  type CounterOp,
  type CounterResults,
  type Counters,
  CountersUnavailableError,
  checkOps,
  type SetAdd,
  type WindowCount,
} from './counters.ts';

/**
 * ARGV[1]: the prefix; ARGV[2]: now (epoch s); ARGV[3]: the ops as JSON. Returns the results as JSON
 * (numbers as Lua doubles: a baseline keeps its fraction).
 */
const BATCH_SCRIPT = `
local prefix = ARGV[1]
local now = tonumber(ARGV[2])
local ops = cjson.decode(ARGV[3])
local out = {}
local function num(key)
  local v = redis.call('GET', key)
  if v then return tonumber(v) end
  return 0
end
for i, op in ipairs(ops) do
  local key = prefix .. op.key
  if op.op == 'count' then
    local w = math.floor(now / op.window)
    local cur = redis.call('INCRBY', key .. ':' .. w, op.by)
    redis.call('EXPIREAT', key .. ':' .. w, (w + 2) * op.window + 1)
    local prev = num(key .. ':' .. (w - 1))
    local baseline = cjson.null
    if op.alpha then
      -- {w: the window being counted, c: its count so far, m: the EWMA of the windows before it}
      local bkey = key .. ':b'
      local stored = redis.call('HMGET', bkey, 'w', 'm', 'c')
      local bw, mean, c = tonumber(stored[1]), tonumber(stored[2]), tonumber(stored[3])
      if not bw then bw = w; mean = -1; c = 0 end
      if bw < w then
        if mean < 0 then mean = c else mean = op.alpha * c + (1 - op.alpha) * mean end
        mean = mean * math.pow(1 - op.alpha, w - 1 - bw)
        bw = w
        c = 0
      end
      c = c + op.by
      redis.call('HSET', bkey, 'w', bw, 'm', string.format('%.17g', mean), 'c', c)
      redis.call('EXPIRE', bkey, tonumber(ARGV[4]))
      if mean >= 0 then baseline = string.format('%.17g', mean) end
    end
    out[i] = {current = cur, previous = prev, baseline = baseline}
  elseif op.op == 'clear' then
    local w = math.floor(now / op.window)
    out[i] = redis.call('DEL', key .. ':' .. w, key .. ':' .. (w - 1)) > 0
  elseif op.op == 'get' then
    local v = redis.call('GET', key)
    if v then out[i] = v else out[i] = cjson.null end
  elseif op.op == 'cas' then
    local v = redis.call('GET', key)
    local same = (v == false and op.expect == cjson.null) or (v ~= false and v == op.expect)
    if same then
      if op.value == cjson.null then redis.call('DEL', key)
      else redis.call('SET', key, op.value, 'EX', op.ttl) end
    end
    out[i] = same
  elseif op.op == 'del' then
    out[i] = redis.call('DEL', key) == 1
  elseif op.op == 'incr' then
    local v = redis.call('INCR', key)
    if v == 1 then redis.call('EXPIRE', key, op.ttl) end
    out[i] = v
  elseif op.op == 'sadd' then
    local added = redis.call('SADD', key, op.member) == 1
    redis.call('EXPIRE', key, op.ttl)
    local members = {}
    if op.list then members = redis.call('SMEMBERS', key); table.sort(members) end
    out[i] = {added = added, size = redis.call('SCARD', key), members = members}
  elseif op.op == 'has' then
    out[i] = redis.call('SISMEMBER', key, op.member) == 1
  end
end
return cjson.encode(out)
`;

const COMMAND = 'warrantGuardCounters';

type BatchCommand = (prefix: string, now: number, ops: string, baselineTtl: number) => Promise<string>;

export interface RedisCountersOptions {
  /** Prefix of every key (default `warrant:guard:`); give each deployment or test run its own. */
  readonly prefix?: string;
  /** Whether {@link RedisCounters.close} closes the client (default: the caller keeps owning it). */
  readonly owned?: boolean;
}

export class RedisCounters implements Counters {
  readonly kind = 'redis' as const;
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #owned: boolean;
  #closing: Promise<void> | undefined;

  constructor(client: Redis, options: RedisCountersOptions = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? 'warrant:guard:';
    this.#owned = options.owned === true;
    client.defineCommand(COMMAND, { numberOfKeys: 0, lua: BATCH_SCRIPT });
  }

  async run<const T extends readonly CounterOp[]>(ops: T, now: number): Promise<CounterResults<T>> {
    checkOps(ops);
    const command = (this.#client as unknown as Record<string, BatchCommand>)[COMMAND]!;
    let text: string;
    try {
      text = await command.call(this.#client, this.#prefix, now, JSON.stringify(ops), BASELINE_TTL_SECONDS);
    } catch (cause) {
      throw new CountersUnavailableError('the guard counters (Redis) did not answer', { cause });
    }
    // cjson writes an empty Lua table as {}: an empty member list.
    const results = JSON.parse(text) as unknown[] | Record<string, never>;
    return (Array.isArray(results) ? results : []).map((r, i) => shape(ops[i]!, r, now)) as CounterResults<T>;
  }

  async states(prefix: string, _now: number, limit = 1000): Promise<{ key: string; value: string }[]> {
    const out: { key: string; value: string }[] = [];
    let cursor = '0';
    try {
      do {
        const [next, keys] = await this.#client.scan(
          cursor,
          'MATCH',
          `${escapeGlob(this.#prefix + prefix)}*`,
          'COUNT',
          500,
          'TYPE',
          'string',
        );
        cursor = next;
        const values = keys.length === 0 ? [] : await this.#client.mget(...keys);
        keys.forEach((key, i) => {
          const value = values[i];
          if (typeof value === 'string' && out.length < limit)
            out.push({ key: key.slice(this.#prefix.length), value });
        });
      } while (cursor !== '0' && out.length < limit);
    } catch (cause) {
      throw new CountersUnavailableError('the guard counters (Redis) did not answer', { cause });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async ping(): Promise<void> {
    try {
      await this.#client.ping();
    } catch (cause) {
      throw new CountersUnavailableError('the guard counters (Redis) did not answer', { cause });
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (!this.#owned) return;
      try {
        await this.#client.quit();
      } catch {
        this.#client.disconnect();
      }
    })();
    return this.#closing;
  }
}

/**
 * A result as the port types it: cjson's {} for an empty list, a baseline sent as text (cjson writes 14
 * digits only), the window's timing computed here from the same `now`.
 */
function shape(op: CounterOp, r: unknown, now: number): unknown {
  if (op.op === 'count') {
    const c = r as { current: number; previous: number; baseline: string | null };
    const w = Math.floor(now / op.window);
    const count: WindowCount = {
      current: c.current,
      previous: c.previous,
      elapsed: (now - w * op.window) / op.window,
      baseline: typeof c.baseline === 'string' ? Number(c.baseline) : null,
      resetIn: (w + 1) * op.window - now,
    };
    return count;
  }
  if (op.op === 'sadd') {
    const s = r as SetAdd;
    return { added: s.added, size: s.size, members: Array.isArray(s.members) ? s.members : [] };
  }
  return r;
}

/** `pattern` with Redis glob characters escaped (agent ids may contain `*`, `?`, `[`). */
function escapeGlob(pattern: string): string {
  return pattern.replace(/[*?[\]\\]/g, '\\$&');
}
