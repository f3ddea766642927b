/**
 * pkg/server/watch — etcd's Watch: the hub (matching, catch-up, fan-out) and per-stream state.
 * See docs/watch.md.
 */
export { WatchHub, type WatchHubOptions, type HubStats, type HistorySource } from './hub.js';
export { WatchStream, AUTO_WATCH_ID, INVALID_WATCH_ID } from './stream.js';
export type { ResponseSink } from './outbox.js';
export { LeaderWatch } from './leader-watch.js';
