export {
  createMetrics,
  GRPC_CODE_LABELS,
  type ClusterMetrics,
  type DiskMetrics,
  type GrpcMetrics,
  type LeaseMetrics,
  type Metrics,
  type MetricsOptions,
  type MvccMetrics,
  type NetworkMetrics,
  type ServerMetrics,
} from './metrics.js';
export { tally, type Tally } from './tally.js';
