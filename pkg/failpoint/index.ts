/**
 * Named failpoints for crash and fault tests, armed only by the environment variable
 * BERTH_FAILPOINTS="name=action[@n],..." read once at start-up. Unarmed (the production case) a
 * failpoint costs one size check.
 *
 * Actions:
 * - `kill`       SIGKILL this process (a crash at exactly this line);
 * - `panic`      throw an uncaught error from a fresh task (the process dies like a Go panic);
 * - `sleep(ms)`  block this process for ms milliseconds (a stall: GC pause, slow disk);
 * - `error`      throw an Error here (the caller treats it as a failed operation); `throw` is an alias;
 * - `enospc`     throw an Error with code ENOSPC (disk full) here;
 * - `powerloss`  the power goes off: unsynced storage writes since the last synced one are lost and the
 *                process dies. Needs the test-only power-loss storage model (pkg/storage/engine/
 *                power-loss.ts), which only the test entry point enables; startMember refuses to start
 *                with this action armed otherwise.
 * `@n` fires on the n-th hit only (1-based), `@n+` on the n-th and every later hit; without either,
 * kill/panic/powerloss fire on the first hit and the others on every hit. Used by storage and server code; never by pkg/raft (which does no I/O).
 *
 * The list of points is in docs/robustness.md.
 */
type Action =
  | { readonly kind: 'kill' | 'panic' | 'error' | 'enospc' | 'powerloss' }
  | { readonly kind: 'sleep'; readonly ms: number };

interface Armed {
  readonly action: Action;
  /** Fire on this hit only (or from it on, with `onward`); undefined = every hit. */
  readonly at: number | undefined;
  readonly onward: boolean;
  hits: number;
}

/** Parses a BERTH_FAILPOINTS value; unknown actions are a start-up error (a typo must not pass silently). */
export function parseFailpoints(spec: string): Map<string, Armed> {
  const out = new Map<string, Armed>();
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`BERTH_FAILPOINTS: expected name=action, got ${JSON.stringify(part)}`);
    const name = part.slice(0, eq).trim();
    let rest = part.slice(eq + 1).trim();
    let at: number | undefined;
    let onward = false;
    const atPos = rest.lastIndexOf('@');
    if (atPos >= 0) {
      let n = rest.slice(atPos + 1);
      if (n.endsWith('+')) {
        onward = true;
        n = n.slice(0, -1);
      }
      at = Number(n);
      if (!Number.isInteger(at) || at < 1) throw new Error(`BERTH_FAILPOINTS: bad hit count in ${JSON.stringify(part)}`);
      rest = rest.slice(0, atPos);
    }
    let action: Action;
    const sleep = /^sleep\((\d+)\)$/.exec(rest);
    if (sleep !== null) action = { kind: 'sleep', ms: Number(sleep[1]) };
    else if (rest === 'kill' || rest === 'panic' || rest === 'error' || rest === 'enospc' || rest === 'powerloss') action = { kind: rest };
    else if (rest === 'throw') action = { kind: 'error' };
    else throw new Error(`BERTH_FAILPOINTS: unknown action ${JSON.stringify(rest)} for ${name}`);
    if (at === undefined && (action.kind === 'kill' || action.kind === 'panic' || action.kind === 'powerloss')) at = 1;
    out.set(name, { action, at, onward, hits: 0 });
  }
  return out;
}

const armed = parseFailpoints(process.env['BERTH_FAILPOINTS'] ?? '');
let powerLoss: (() => void) | undefined;

/** Installs what the `powerloss` action does (the test-only storage model's lose()). */
export function setPowerLossHandler(f: (() => void) | undefined): void {
  powerLoss = f;
}

/** Whether some armed failpoint has the `powerloss` action (which needs a handler). */
export function powerLossArmed(): boolean {
  return [...armed.values()].some((a) => a.action.kind === 'powerloss');
}

const sleeper = armed.size > 0 ? new Int32Array(new SharedArrayBuffer(4)) : undefined;

/** Thrown by the `error` and `enospc` actions. */
export class FailpointError extends Error {
  readonly code: string | undefined;
  constructor(name: string, code?: string) {
    super(code === undefined ? `failpoint: ${name}` : `${code}: no space left on device (failpoint ${name})`);
    this.code = code;
  }
}

/** Runs the action armed for `name`, if any. */
export function failpoint(name: string): void {
  if (armed.size === 0) return;
  const a = armed.get(name);
  if (a === undefined) return;
  a.hits++;
  if (a.at !== undefined && (a.onward ? a.hits < a.at : a.hits !== a.at)) return;
  const act = a.action;
  switch (act.kind) {
    case 'kill':
      process.kill(process.pid, 'SIGKILL');
      return;
    case 'panic':
      setImmediate(() => {
        throw new Error(`failpoint panic: ${name}`);
      });
      // The rest of this task must not run either: stop it here too.
      throw new FailpointError(name);
    case 'sleep':
      if (sleeper !== undefined) Atomics.wait(sleeper, 0, 0, act.ms);
      return;
    case 'error':
      throw new FailpointError(name);
    case 'enospc':
      throw new FailpointError(name, 'ENOSPC');
    case 'powerloss':
      if (powerLoss === undefined) {
        // startMember refuses to start like this; anything else armed it by mistake.
        setImmediate(() => {
          throw new Error(`failpoint ${name}=powerloss hit without a power-loss storage model`);
        });
        throw new FailpointError(name);
      }
      powerLoss();
      return;
  }
}

/** Whether any failpoint is armed in this process (for diagnostics). */
export function failpointsArmed(): readonly string[] {
  return [...armed.keys()];
}
