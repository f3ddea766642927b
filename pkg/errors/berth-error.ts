import { isErrorKind, type ErrorKind } from './kinds.js';

/**
 * An error as plain data: a kind from the closed set plus optional detail for logs.
 *
 * The detail never reaches an etcd client for table kinds (clients match the exact message), so it
 * may carry internal context such as a key or a revision.
 */
export interface BerthError {
  readonly kind: ErrorKind;
  readonly detail?: string;
}

/** Builds a frozen {@link BerthError}. Never throws. */
export function berthError(kind: ErrorKind, detail?: string): BerthError {
  return Object.freeze(detail === undefined ? { kind } : { kind, detail });
}

/** Narrowing check for values that crossed an untyped boundary (e.g. a rejected promise). */
export function isBerthError(value: unknown): value is BerthError {
  if (typeof value !== 'object' || value === null) return false;
  const kind: unknown = (value as { kind?: unknown }).kind;
  return typeof kind === 'string' && isErrorKind(kind);
}
