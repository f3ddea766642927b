/**
 * Raft snapshots between members: the sender side (`source`, the transport's snapshotSource) and the
 * receiver side (`receive`, the transport's onSnapshot), plus the check the node loop runs when raft
 * hands the installed snapshot back in a Ready (`confirmInstalled`).
 *
 * Index consistency (docs/snapshots.md): the state streamed is NOT the state at the index of the raft
 * snapshot message (that one was recorded earlier; the state has moved on and there are no RocksDB
 * checkpoints to go back to). Instead the sender takes its cursor between two Readies of the node loop,
 * when the state is exactly at raft's applied index, and writes that index, its term and raft's
 * ConfState (which at that moment is the configuration at that index) into the archive. The receiver
 * installs the archive and steps the leader's snap message with the ARCHIVE's metadata. The archive
 * index is ≥ the message's (raft snapshots are recorded at applied indexes), committed, and its
 * ConfState is as recent as the leader's applied state, so newly added members are in it.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfState, Message, Snapshot } from '../../raft/index.js';
import { STATE_KEYSPACES_START, type Engine } from '../../storage/engine/index.js';
import type { Wal } from '../../storage/wal/index.js';
import type { Logger } from '../../log/index.js';
import type { RaftNode } from '../raft-node.js';
import type { Applier } from '../apply/applier.js';
import { verifyArchive, writeArchive, type ArchiveMeta } from './archive.js';
import { installArchive, readMarker } from './install.js';
import { fsyncDir } from './fsync-dir.js';

export interface RaftSnapshotsOptions {
  readonly engine: Engine;
  readonly wal: Wal;
  readonly memberId: bigint;
  readonly snapDir: string;
  readonly logger: Logger;
  readonly node: () => RaftNode;
  readonly applier: () => Applier;
  /** Holds background writers of state (MVCC compaction) before the state is replaced. */
  readonly suspend: () => Promise<void>;
  /** Reloads every in-memory copy of state after an install (MVCC, lessor, members, alarms, watchers). */
  readonly reload: (meta: ArchiveMeta) => Promise<void>;
  /** True while a received snapshot replaces the state, false after (etcd_server_snapshot_apply_in_progress_total). */
  readonly applying?: (inProgress: boolean) => void;
  /** After an install: the new applied index (read-index waiters, snapshot policy). */
  readonly onInstalled: (index: number) => void;
  /** The state is half-replaced and the install failed: the member must stop (redo on restart). */
  readonly onFatal: (err: unknown) => void;
}

const hex = (id: bigint): string => id.toString(16);

function includes(cs: ConfState, id: bigint): boolean {
  return cs.voters.includes(id) || cs.learners.includes(id) || cs.votersOutgoing.includes(id) || cs.learnersNext.includes(id);
}

export class RaftSnapshots {
  readonly #o: RaftSnapshotsOptions;
  /** Index of the last archive installed by this process (0: none). */
  #installed = 0;

  constructor(o: RaftSnapshotsOptions) {
    this.#o = o;
  }

  /** The archive for snap message `m`, taken at raft's applied index (see the module comment). */
  source(m: Message): AsyncIterable<Uint8Array> {
    return this.#stream(m);
  }

  async *#stream(m: Message): AsyncGenerator<Uint8Array, void, undefined> {
    const { engine, wal, logger } = this.#o;
    const node = this.#o.node();
    const taken = await node.exclusive(() => {
      const st = node.status();
      if (st.applied < this.#o.applier().appliedIndex) {
        // Just installed a snapshot whose log has not caught up yet: raft's configuration is not the
        // one of the state. Refuse; raft retries after the snapshot status report.
        throw new Error(`state at ${this.#o.applier().appliedIndex} is ahead of raft's applied index ${st.applied}`);
      }
      const index = st.applied;
      const meta: ArchiveMeta = { index, term: wal.term(index), confState: st.config };
      // The cursor's RocksDB snapshot is taken now, synchronously: exactly the state at `index`.
      const cursor = engine.cursor({ gte: Uint8Array.of(STATE_KEYSPACES_START), lt: Uint8Array.of(0xff), fillCache: false, chunkBytes: 256 * 1024 });
      return { cursor, meta };
    });
    logger.info(
      { 'remote-peer-id': hex(m.to), 'message-index': m.snapshot?.metadata.index, 'snapshot-index': taken.meta.index, 'snapshot-term': taken.meta.term },
      'sending database snapshot',
    );
    let bytes = 0;
    for await (const piece of writeArchive(taken.cursor, taken.meta)) {
      bytes += piece.byteLength;
      yield piece;
    }
    logger.info({ 'remote-peer-id': hex(m.to), 'snapshot-index': taken.meta.index, bytes }, 'sent database snapshot');
  }

  /**
   * A verified, fsynced upload: install it, reload in-memory state, then step the snap message into
   * raft with the archive's metadata. Rejects (the sender is told) when the archive is unusable.
   */
  async receive({ message, path }: { readonly message: Message; readonly path: string }): Promise<void> {
    const { engine, snapDir, logger, memberId } = this.#o;
    const snap = message.snapshot;
    if (snap === undefined) throw new Error('snap message without a snapshot');
    const meta = await verifyArchive(path);
    if (meta.index < snap.metadata.index) throw new Error(`archive index ${meta.index} below the message's ${snap.metadata.index}`);
    if (!includes(meta.confState, memberId)) throw new Error(`snapshot configuration at ${meta.index} does not include member ${hex(memberId)}`);
    // Our own name: the transport removes its path if this handler fails, and the redo needs the file.
    const file = `install-${meta.index}-${randomBytes(4).toString('hex')}.snap`;
    await rename(path, join(snapDir, file));
    await fsyncDir(snapDir);
    const node = this.#o.node();
    let replaced = false;
    try {
      await node.exclusive(async () => {
        const applier = this.#o.applier();
        if (meta.index <= applier.appliedIndex) {
          // The state is already there (e.g. an install redone after a crash, whose log side raft
          // never saw): only raft's log needs the snapshot, the state machine keeps what it has.
          logger.info({ 'snapshot-index': meta.index, applied: applier.appliedIndex }, 'state already at or past the snapshot; restoring only the raft log');
          const r = node.step({ ...message, snapshot: { metadata: { index: meta.index, term: meta.term, confState: meta.confState }, data: snap.data } });
          if (!r.ok) logger.warn({ reason: r.reason, detail: r.detail }, 'raft refused the snapshot message');
          return;
        }
        logger.info(
          { 'remote-peer-id': hex(message.from), 'snapshot-index': meta.index, 'snapshot-term': meta.term, applied: applier.appliedIndex },
          'applying snapshot',
        );
        this.#o.applying?.(true);
        const installed: Snapshot = { metadata: { index: meta.index, term: meta.term, confState: meta.confState }, data: snap.data };
        try {
          await this.#o.suspend();
          replaced = true;
          await installArchive(engine, snapDir, file);
          await this.#o.reload(meta);
          this.#installed = meta.index;
          await applier.installSnapshot(installed);
          replaced = false;
        } finally {
          this.#o.applying?.(false);
        }
        this.#o.onInstalled(meta.index);
        const r = node.step({ ...message, snapshot: installed });
        if (!r.ok) logger.warn({ reason: r.reason, detail: r.detail }, 'raft refused the installed snapshot message');
        logger.info({ 'snapshot-index': meta.index, 'snapshot-term': meta.term }, 'applied snapshot');
      });
    } catch (err) {
      if (replaced) {
        logger.error({ err, 'snapshot-index': meta.index }, 'snapshot install failed with the state half replaced; stopping (it is redone on restart)');
        this.#o.onFatal(err);
      }
      throw err;
    } finally {
      // Keep the file while a marker names it (redo needs it) or when we cannot tell (engine closed).
      const marker = await readMarker(engine).then((m) => m?.file, () => file);
      if (marker !== file) await rm(join(snapDir, file), { force: true });
    }
  }

  /**
   * The node loop's Ready.snapshot: the state must already be at or past that snapshot (receive()
   * installs the state before it steps the message); the applier then keeps its applied index.
   */
  confirmInstalled(snap: Snapshot): Promise<void> {
    const applied = this.#o.applier().appliedIndex;
    if (snap.metadata.index > applied && snap.metadata.index !== this.#installed) {
      return Promise.reject(new Error(`raft restored snapshot ${snap.metadata.index}, but the state is at ${applied} (last install ${this.#installed})`));
    }
    return Promise.resolve();
  }
}

