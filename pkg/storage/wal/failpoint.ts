/**
 * Named failpoints for crash tests, armed by the environment: BERTH_FAILPOINTS="name=action,..."
 * with action `kill` (SIGKILL this process) or `throw` (the WAL treats it as a failed write: the
 * save rejects with 'failed'). With nothing armed a failpoint costs one size check.
 *
 * WAL failpoints: `wal-before-sync` (group batch built, not yet written), `wal-after-sync` (batch
 * durable, callers not yet told).
 */
const armed: ReadonlyMap<string, string> = new Map(
  (process.env['BERTH_FAILPOINTS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.includes('='))
    .map((s) => {
      const [name = '', action = ''] = s.split('=', 2);
      return [name.trim(), action.trim()] as const;
    }),
);

export function failpoint(name: string): void {
  if (armed.size === 0) return;
  const action = armed.get(name);
  if (action === 'kill') process.kill(process.pid, 'SIGKILL');
  else if (action === 'throw') throw new Error(`failpoint: ${name}`);
}
