/**
 * pkg/server/transport — raft messages between members on raft streams (stream.ts; gRPC Send for older
 * members), Hello and snapshots over gRPC (berthpb.Raft).
 * See docs/transport.md for the wire protocol and invariants.
 */
export { PeerTransport } from './transport.js';
export type { PeerTransportOptions, ReceivedSnapshot, TransportLimits, TransportLogger, TransportMetrics } from './options.js';
export { DEFAULT_LIMITS, PEER_SERVER_OPTIONS } from './options.js';
export type { PeerState, PeerStatus } from './peer.js';
export { messageFromPb, messageToPb, type CodecError, type CodecErrorKind, type Decoded } from './codec.js';
export { PROTOCOL_VERSION } from './wire.js';
