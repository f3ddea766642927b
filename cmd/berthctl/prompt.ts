/**
 * Password prompts as etcdctl 3.4 shows them (its speakeasy library): the prompt goes to stdout, one
 * line is read, then a newline is printed. On a terminal the line is read with echo off (raw mode);
 * when stdin is not a terminal the next line of stdin is the answer (what etcdctl does too, so
 * `printf 'pw\n' | berthctl --user root get k` works in scripts). End of input is an empty answer.
 * One reader per run keeps the bytes after a line for the next prompt.
 */
import type { Readable } from 'node:stream';
import type { Io } from './io.js';

interface TtyIn extends Readable {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

class StdinLines {
  #buf = Buffer.alloc(0);
  #done = false;
  readonly #it: AsyncIterator<unknown>;
  constructor(stdin: AsyncIterable<unknown>) {
    this.#it = stdin[Symbol.asyncIterator]();
  }
  /** The next line without its "\n" (and a "\r" before it); '' at end of input. */
  async line(): Promise<string> {
    for (;;) {
      const nl = this.#buf.indexOf(0x0a);
      if (nl >= 0) {
        const line = this.#buf.subarray(0, nl).toString('utf8');
        this.#buf = this.#buf.subarray(nl + 1);
        return line.replace(/\r$/, '');
      }
      if (this.#done) {
        const rest = this.#buf.toString('utf8');
        this.#buf = Buffer.alloc(0);
        return rest;
      }
      const r = await this.#it.next();
      if (r.done === true) this.#done = true;
      else this.#buf = Buffer.concat([this.#buf, Buffer.isBuffer(r.value) ? r.value : Buffer.from(String(r.value))]);
    }
  }
  /** Go's fmt.Scanf("%s"): the next whitespace-separated word of input ('' if none). */
  async word(): Promise<string> {
    const line = await this.line();
    return line.trim().split(/\s+/)[0] ?? '';
  }
}

const readers = new WeakMap<Io, StdinLines>();

function reader(io: Io): StdinLines {
  let r = readers.get(io);
  if (r === undefined) {
    r = new StdinLines(io.stdin);
    readers.set(io, r);
  }
  return r;
}

/** One line typed with echo off. Ctrl-C or Ctrl-D with nothing typed ends it as interrupted. */
function readHidden(stdin: TtyIn & { setRawMode(mode: boolean): unknown }): Promise<string | undefined> {
  return new Promise((resolve) => {
    let typed = '';
    stdin.setRawMode(true);
    const onData = (d: Buffer | string): void => {
      for (const ch of d.toString()) {
        if (ch === '\r' || ch === '\n') return done(typed);
        if (ch === '\u0003' || (ch === '\u0004' && typed === '')) return done(undefined);
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    const done = (v: string | undefined): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      resolve(v);
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** Shows `prompt`, reads the answer (hidden on a terminal), prints a newline. Undefined: interrupted. */
export async function askPassword(io: Io, prompt: string): Promise<string | undefined> {
  io.stdout.write(prompt);
  const stdin = io.stdin as TtyIn;
  let answer: string | undefined;
  if (stdin.isTTY === true && typeof stdin.setRawMode === 'function') answer = await readHidden(stdin as TtyIn & { setRawMode(mode: boolean): unknown });
  else answer = await reader(io).line();
  io.stdout.write('\n');
  return answer;
}

/** `--interactive=false`: the next word of stdin, no prompt (etcdctl's fmt.Scanf("%s")). */
export function readWord(io: Io): Promise<string> {
  return reader(io).word();
}
