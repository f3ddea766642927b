export { ERROR_KINDS, isErrorKind, type ErrorKind } from './kinds.js';
export { berthError, isBerthError, type BerthError } from './berth-error.js';
export { kindFromMessage, toGrpcStatus, wireErrorOf, type GrpcCode, type WireError } from './grpc-status.js';
