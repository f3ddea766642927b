/**
 * The event log of a run: off in the fast path (a failing seed is simply rerun with it on, which is
 * exact because runs are deterministic), a ring of the last K lines otherwise, and optionally echoed
 * line by line (replay --verbose).
 */
export class Trace {
  readonly #limit: number;
  readonly #lines: string[] = [];
  #start = 0;
  readonly #echo: ((line: string) => void) | undefined;

  constructor(limit: number, echo?: (line: string) => void) {
    this.#limit = Math.max(1, limit);
    this.#echo = echo;
  }

  add(line: string): void {
    this.#echo?.(line);
    if (this.#lines.length < this.#limit) {
      this.#lines.push(line);
    } else {
      this.#lines[this.#start] = line;
      this.#start = (this.#start + 1) % this.#limit;
    }
  }

  /** The retained lines, oldest first. */
  lines(): string[] {
    return [...this.#lines.slice(this.#start), ...this.#lines.slice(0, this.#start)];
  }
}
