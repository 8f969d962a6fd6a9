/** Resolves with the first SIGINT or SIGTERM; SIGHUP calls `onReload` (when given) and keeps waiting. */
export function waitForSignal(onReload?: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const reload = () => onReload?.();
    const stop = (name: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', reload);
      resolve(name);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (onReload) process.on('SIGHUP', reload);
  });
}
