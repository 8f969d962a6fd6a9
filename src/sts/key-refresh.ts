/**
 * Signing keys across STS replicas (issue 14): a replica re-reads its key ring from the store (the one
 * truth the replicas share) when another replica says on the bus that it rotated (`now()`), every
 * `everyMs` as the fallback when a bus message was lost, and at the activation time of each pending key, so
 * every replica switches to a new key at the same moment — after it has been published for the activation
 * delay (src/sts/signing-keys.ts).
 */
import type { WarrantConfig } from '../config/types.ts';
import type { Sts } from './sts.ts';

/**
 * How long a rotated key is published before it signs (`sts.keyRotation.activationDelaySeconds`); when not
 * configured, 0 for one replica (no `redis`) and 30 s for several.
 */
export function activationDelaySeconds(config: WarrantConfig): number {
  return config.sts.keyRotation.activationDelaySeconds ?? (config.redis ? 30 : 0);
}

export interface KeyRefresh {
  /** Re-reads the keys now (a bus notification); resolves when done. Failures go to `onError`. */
  now(): Promise<void>;
  stop(): void;
}

export interface KeyRefreshOptions {
  /** The periodic re-read (ms). */
  readonly everyMs: number;
  /** A failed re-read (the store is down): the keys held stay in use. */
  readonly onError?: (error: unknown) => void;
  /** The signing key or the published set changed. */
  readonly onChange?: (kid: string) => void;
}

/** Re-read interval for an activation delay: four re-reads within the delay, between 0.5 s and 5 s. */
export function keyRefreshMs(activationDelaySeconds: number): number {
  if (activationDelaySeconds <= 0) return 5000;
  return Math.min(5000, Math.max(500, Math.floor((activationDelaySeconds * 1000) / 4)));
}

export function startKeyRefresh(sts: Sts, options: KeyRefreshOptions): KeyRefresh {
  let stopped = false;
  let activation: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const reload = (): Promise<void> => {
    running ??= (async () => {
      try {
        if (await sts.reloadSigningKeys()) options.onChange?.(sts.keys.current.kid);
      } catch (error) {
        options.onError?.(error);
      } finally {
        running = undefined;
        schedule();
      }
    })();
    return running;
  };
  // A timer at the next pending key's activation (seconds on the STS clock; +50 ms past the second).
  const schedule = () => {
    clearTimeout(activation);
    if (stopped) return;
    const next = Math.min(...sts.keys.pending.map((p) => p.from));
    if (!Number.isFinite(next)) return;
    const inMs = Math.max(0, (next - sts.clock()) * 1000 + 50);
    activation = setTimeout(() => void reload(), Math.min(inMs, 2 ** 31 - 1));
    activation.unref();
  };
  const timer = setInterval(() => void reload(), options.everyMs);
  timer.unref();
  schedule();
  return {
    now: reload,
    stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(activation);
    },
  };
}
