/**
 * The etcdserverpb.Watch service: one bidi stream per client, multiplexing creates, cancels and
 * progress requests onto a WatchStream of the hub. Responses are pre-encoded by the hub (shared
 * event encodings), so the service definition passes response bytes through unchanged.
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { WatchService, type WatchCreateRequest, type WatchRequest } from '../../proto/gen/etcdserverpb/rpc.js';
import { berthError } from '../../errors/index.js';
import { toServiceError } from '../errors.js';
import type { LeaderWatch, WatchHub } from '../watch/index.js';

/** WatchService with an identity response serializer: the handler writes encoded WatchResponses. */
export const WatchWireService = {
  watch: {
    ...WatchService.watch,
    responseSerialize: (value: Buffer): Buffer => value,
    responseDeserialize: (value: Buffer): Buffer => value,
  },
} as const;

export interface WatchDeps {
  readonly hub: WatchHub;
  readonly leader: LeaderWatch;
  /** Auth: undefined when the create may proceed, else the cancel reason (pkg/server/auth/gate.ts). */
  readonly permitCreate?: (call: ServerDuplexStream<WatchRequest, Buffer>, req: WatchCreateRequest) => string | undefined;
  /** The stream failed to receive or send, not by the client going away (etcd_network_server_stream_failures_total). */
  readonly onStreamFailure?: (direction: 'receive' | 'send') => void;
}

/** gRPC metadata a client sets to require a leader (etcd clientv3 `WithRequireLeader`). */
function requiresLeader(call: ServerDuplexStream<WatchRequest, Buffer>): boolean {
  return call.metadata.get('hasleader').some((v) => String(v) === 'true');
}

export function watchService(d: WatchDeps): UntypedServiceImplementation {
  const watch = (call: ServerDuplexStream<WatchRequest, Buffer>): void => {
    const needLeader = requiresLeader(call);
    if (needLeader && !d.leader.hasLeader()) {
      call.emit('error', toServiceError(berthError('noLeader')));
      return;
    }
    let ending = false;
    const stream = d.hub.openStream({
      write: (bytes, done) => {
        call.write(bytes, (err: Error | null | undefined) => {
          if (err !== null && err !== undefined && !ending) d.onStreamFailure?.('send');
          done();
        });
      },
    });
    let unsubscribe = (): void => {};
    const close = (): void => {
      ending = true;
      unsubscribe();
      stream.close();
    };
    if (needLeader) {
      unsubscribe = d.leader.onLost(() => {
        close();
        call.emit('error', toServiceError(berthError('noLeader')));
      });
    }
    const handle = (req: WatchRequest): void => {
      const u = req.requestUnion;
      switch (u?.$case) {
        case 'createRequest': {
          const denied = d.permitCreate?.(call, u.value);
          return denied === undefined ? stream.create(u.value) : stream.refuse(denied);
        }
        case 'cancelRequest':
          return stream.cancel(u.value.watchId);
        case 'progressRequest':
          return stream.requestProgress();
        default:
          return; // like etcd: an unknown request does not end the stream
      }
    };
    call.on('data', (req: WatchRequest) => {
      handle(req);
      // Backpressure on requests while the client does not read our responses (etcd blocks its
      // receive loop the same way when its control channel is full).
      if (!stream.hasRoom()) {
        call.pause();
        stream.whenRoom(() => call.resume());
      }
    });
    // A client half-close ('end') keeps the stream open, as in etcd; cancellation or errors end it.
    call.on('cancelled', close);
    call.on('error', () => {
      if (!ending) d.onStreamFailure?.('receive');
      close();
    });
    call.on('close', close);
  };
  return { watch };
}
