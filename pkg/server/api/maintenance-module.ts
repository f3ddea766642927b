/**
 * Wires the Maintenance service, the alarm apply handler and the space quota into a member.
 * Other write paths (KV, lease grant) ask `spaceQuota(ctx).admit(cost)` before proposing.
 */
import { MaintenanceService, AlarmRequest_AlarmAction, type AlarmMember } from '../../proto/gen/etcdserverpb/rpc.js';
import { berthError } from '../../errors/index.js';
import type { CommandHandler } from '../apply/applier.js';
import type { ServiceModule } from '../services.js';
import { spaceQuota, type SpaceQuota } from '../alarm/space-quota.js';
import { maintenanceService } from './maintenance.js';
import { memberMetrics } from './metrics-registry.js';

/** Applies an ACTIVATE/DEACTIVATE alarm command: the result is the alarms that changed (etcd). */
export function alarmHandler(quota: SpaceQuota): CommandHandler {
  return async (cmd) => {
    const store = await quota.ready;
    if (cmd.request?.$case !== 'alarm') return { outcome: { ok: false, error: berthError('internal', 'not an alarm command') } };
    const r = cmd.request.value;
    const changed =
      r.action === AlarmRequest_AlarmAction.ACTIVATE
        ? store.activate(r.memberID, r.alarm)
        : r.action === AlarmRequest_AlarmAction.DEACTIVATE
          ? store.deactivate(r.memberID, r.alarm)
          : undefined;
    const alarms: AlarmMember[] = changed === undefined ? [] : [changed.alarm];
    return changed === undefined ? { outcome: { ok: true, value: alarms } } : { outcome: { ok: true, value: alarms }, ops: [changed.op] };
  };
}

export const maintenanceModule: ServiceModule = {
  name: 'maintenance',
  register(ctx, grpcServer) {
    const quota = spaceQuota(ctx);
    ctx.registerHandler('alarm', alarmHandler(quota));
    const disk = memberMetrics(ctx).disk;
    const onDefrag = (phase: 'start' | 'end', seconds: number): void => {
      if (phase === 'start') disk.defragInflight.set(1);
      else {
        disk.defragInflight.set(0);
        disk.backendDefragDuration.observe(seconds);
      }
    };
    const { hashDuration, hashRevDuration } = memberMetrics(ctx).mvcc;
    grpcServer.addService(
      MaintenanceService,
      maintenanceService({
        ctx,
        quota,
        onDefrag,
        onHash: (kind, seconds) => (kind === 'hash' ? hashDuration : hashRevDuration).observe(seconds),
        onSnapshotStreamed: (seconds) => disk.backendSnapshotDuration.observe(seconds),
      }),
    );
  },
};
