export { parseConfig, type ParseConfigInput, type ParseConfigResult } from './parse.js';
export type { AutoCompaction, Config, LogLevel, TlsFiles } from './types.js';
export type { ConfigError, ConfigWarning } from './source.js';
export { formatInitialCluster, type ClusterMember, type EndpointUrl, type UrlScheme } from './urls.js';
export { FLAGS, LEGACY_FLAGS, DEFAULT_EMULATED_ETCD_VERSION, flagToEnv, type FlagSpec } from './flags.js';
export { BERTH_VERSION, versionText } from './version.js';
export { helpText } from './help.js';
export { openSslCipherName } from './cipher-suites.js';
export { formatGoDuration } from './go-values.js';
