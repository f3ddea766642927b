/**
 * berth's own version and the text of `berth --version`. The version is kept equal to package.json's
 * by a test (reading package.json at run time would depend on where the build output sits).
 */
export const BERTH_VERSION = '0.1.0';

/** The lines `berth --version` prints. */
export function versionText(emulatedEtcdVersion: string): string {
  return [
    `berth Version: ${BERTH_VERSION}`,
    `etcd API compatibility: ${emulatedEtcdVersion}`,
    `Node.js Version: ${process.version}`,
    `Node.js OS/Arch: ${process.platform}/${process.arch}`,
  ].join('\n');
}
