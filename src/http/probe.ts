/**
 * Readiness probes (`/readyz` of the STS and the gateway): whether a backing service answers in time. A
 * service that hangs is as down as one that refuses.
 */

/** Whether `check` settles successfully within `ms`. Never rejects. */
export async function answersWithin(check: () => Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
