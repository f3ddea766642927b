/**
 * Printing one response of the membership and auth commands in the formats etcdctl 3.4 has for it:
 * `simple` (the command's text), `json` (Go's encoding/json of the response), `protobuf` (its wire
 * encoding). For the others etcdctl sends the request and then fails with `<format> not supported as
 * output format` (exit 4); berthctl does the same, so the request has taken effect in both.
 */
import type { MessageFns } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { CommandError, type Context } from '../io.js';
import { printJson, type JsonValue } from './json.js';

/** etcdctl's exit code for a valid flag with an output format the command cannot print. */
export const EXIT_BAD_FEATURE = 4;

/** A text as a byte string (one char per UTF-8 byte), to mix with goQuote's output. */
export function raw(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** `simple` is a byte string (see raw); it is only evaluated for the simple format. */
export function printResponse<T>(ctx: Context, fns: MessageFns<T>, r: T, json: () => JsonValue, simple: () => string): void {
  if (ctx.writeOut === 'json') ctx.io.stdout.write(printJson(json()));
  else if (ctx.writeOut === 'protobuf') ctx.io.stdout.write(fns.encode(r).finish());
  else if (ctx.writeOut === 'simple') ctx.io.stdout.write(Buffer.from(simple(), 'latin1'));
  else throw new CommandError(`${ctx.writeOut} not supported as output format`, EXIT_BAD_FEATURE);
}
