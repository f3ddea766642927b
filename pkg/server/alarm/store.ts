/**
 * The cluster's alarms (etcd's alarm store): which member raised which alarm. Changed only by applied
 * `alarm` commands, whose record ops go into that entry's apply batch, so the set always matches the
 * applied index. Records live in the Meta keyspace under `alarm/` + member ID (u64 BE) + type (u32 BE).
 */
import { Keyspace, del, keyIn, prefixRange, put, type BatchOp, type Engine } from '../../storage/engine/index.js';
import { AlarmType, type AlarmMember } from '../../proto/gen/etcdserverpb/rpc.js';

const PREFIX = keyIn(Keyspace.Meta, new TextEncoder().encode('alarm/'));

function alarmKey(memberId: bigint, alarm: AlarmType): Uint8Array {
  const b = Buffer.alloc(PREFIX.length + 12);
  b.set(PREFIX, 0);
  b.writeBigUInt64BE(memberId, PREFIX.length);
  b.writeUInt32BE(alarm, PREFIX.length + 8);
  return b;
}

function sameAlarm(a: AlarmMember, memberId: bigint, alarm: AlarmType): boolean {
  return a.memberID === memberId && a.alarm === alarm;
}

export class AlarmStore {
  #alarms: AlarmMember[] = [];

  private constructor() {}

  /** Loads every persisted alarm. Fails only if the engine fails. */
  static async load(engine: Pick<Engine, 'iterate'>): Promise<AlarmStore> {
    const s = new AlarmStore();
    for await (const { key } of engine.iterate(prefixRange(PREFIX))) {
      const b = Buffer.from(key);
      if (b.length !== PREFIX.length + 12) continue;
      s.#alarms.push({ memberID: b.readBigUInt64BE(PREFIX.length), alarm: b.readUInt32BE(PREFIX.length + 8) as AlarmType });
    }
    return s;
  }

  /** Re-reads the persisted alarms (the state was replaced by a raft snapshot install). */
  async reload(engine: Pick<Engine, 'iterate'>): Promise<void> {
    this.#alarms = (await AlarmStore.load(engine)).#alarms;
  }

  /** Alarms of one type, or all of them for NONE (etcd's GET semantics). */
  list(alarm: AlarmType = AlarmType.NONE): AlarmMember[] {
    return this.#alarms.filter((a) => alarm === AlarmType.NONE || a.alarm === alarm).map((a) => ({ ...a }));
  }

  /** True when any member has raised `alarm`. */
  has(alarm: AlarmType): boolean {
    return this.#alarms.some((a) => a.alarm === alarm);
  }

  /**
   * Raises an alarm; returns it with the op that persists it, or undefined when it was already raised
   * (then nothing changes). NONE is never stored.
   */
  activate(memberId: bigint, alarm: AlarmType): { alarm: AlarmMember; op: BatchOp } | undefined {
    if (alarm === AlarmType.NONE || alarm === AlarmType.UNRECOGNIZED) return undefined;
    if (this.#alarms.some((a) => sameAlarm(a, memberId, alarm))) return undefined;
    const a = { memberID: memberId, alarm };
    this.#alarms.push(a);
    return { alarm: { ...a }, op: put(alarmKey(memberId, alarm), new Uint8Array(0)) };
  }

  /** Clears an alarm; returns it with the op that persists the removal, or undefined when it was not raised. */
  deactivate(memberId: bigint, alarm: AlarmType): { alarm: AlarmMember; op: BatchOp } | undefined {
    const i = this.#alarms.findIndex((a) => sameAlarm(a, memberId, alarm));
    if (i < 0) return undefined;
    const [a] = this.#alarms.splice(i, 1);
    return a === undefined ? undefined : { alarm: a, op: del(alarmKey(memberId, alarm)) };
  }
}

/** etcd's rendering of an alarm type in Status.errors: "memberID:<id> alarm:NOSPACE". */
export function alarmText(a: AlarmMember): string {
  const name = a.alarm === AlarmType.NOSPACE ? 'NOSPACE' : a.alarm === AlarmType.CORRUPT ? 'CORRUPT' : 'NONE';
  return `memberID:${a.memberID.toString()} alarm:${name} `;
}
