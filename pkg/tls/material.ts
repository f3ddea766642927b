/**
 * One side's TLS material (client port or peer port): which files, how they become Node TLS options
 * for the listening side and the dialing side, and reloading them when they change on disk.
 *
 * etcd's rules kept here (client/pkg/transport TLSInfo):
 *  - a server asks for and verifies client certificates when --client-cert-auth is set OR a trusted
 *    CA file is given (Go: RequireAndVerifyClientCert);
 *  - the dialing side verifies the server against the trusted CA unless the material is self-signed
 *    (auto TLS), where verification is skipped (Go: InsecureSkipVerify);
 *  - --cipher-suites restrict TLS 1.2 only; TLS 1.3 suites are not configurable (Go) and stay enabled.
 */
import { readFileSync, statSync } from 'node:fs';
import { DEFAULT_CIPHERS, createSecureContext, type SecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { openSslCipherName } from '../config/cipher-suites.js';

export interface TlsSettings {
  readonly certFile: string;
  readonly keyFile: string;
  /** Presented when this member dials (peer side); '' means certFile/keyFile. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly trustedCaFile: string;
  readonly crlFile: string;
  readonly clientCertAuth: boolean;
  /** Self-signed material: dialers skip verification (etcd's InsecureSkipVerify for auto TLS). */
  readonly selfSigned: boolean;
  /** --peer-cert-allowed-cn: a client certificate must carry one of these CNs (empty: any). */
  readonly allowedCns: readonly string[];
  /** --client-cert-allowed-hostname / --peer-cert-allowed-hostname (empty: any). */
  readonly allowedHostnames: readonly string[];
  readonly minVersion: 'TLS1.2' | 'TLS1.3';
  readonly maxVersion: '' | 'TLS1.2' | 'TLS1.3';
  /** Go names (--cipher-suites). */
  readonly cipherSuites: readonly string[];
}

export interface TlsReloadLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const NODE_VERSION = { 'TLS1.2': 'TLSv1.2', 'TLS1.3': 'TLSv1.3' } as const;

/** The cipher string for Node: the configured TLS 1.2 suites plus Node's TLS 1.3 defaults. */
export function cipherString(goNames: readonly string[]): string | undefined {
  if (goNames.length === 0) return undefined;
  const names: string[] = [];
  for (const g of goNames) {
    const n = openSslCipherName(g);
    if (n === undefined) throw new Error(`unknown TLS cipher suite ${g}`);
    if (!names.includes(n)) names.push(n);
  }
  const tls13 = DEFAULT_CIPHERS.split(':').filter((c) => c.startsWith('TLS_'));
  for (const c of tls13) if (!names.includes(c)) names.push(c);
  return names.join(':');
}

export class TlsMaterial {
  readonly settings: TlsSettings;
  #fingerprint: string;
  #contextOptions: SecureContextOptions;
  #dialContext: SecureContext;
  #checkedAt = 0;
  #generation = 0;

  /** Reads every file now; throws (naming the file) when one is missing or unusable. */
  constructor(settings: TlsSettings) {
    this.settings = settings;
    this.#fingerprint = this.#currentFingerprint();
    this.#contextOptions = this.#load();
    this.#dialContext = this.#buildDialContext();
  }

  /**
   * Bumped on every successful reload. Several users share one material (the peer listener and the
   * peer dialer): each remembers the generation it applied, since only one of them sees
   * reloadIfChanged() return true.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Whether a listening socket demands and verifies a client certificate. */
  get requireClientCert(): boolean {
    return this.settings.clientCertAuth || this.settings.trustedCaFile !== '';
  }

  /** Options for tls.createServer / setSecureContext (without ALPN). */
  serverOptions(): TlsOptions {
    const verify = this.requireClientCert;
    return { ...this.#contextOptions, requestCert: verify, rejectUnauthorized: verify };
  }

  /** The secure context for dialing: CA, and our client certificate (clientCertFile or certFile). */
  dialContext(): SecureContext {
    return this.#dialContext;
  }

  /** Dialers verify the remote certificate unless the material is self-signed (auto TLS). */
  get verifyRemote(): boolean {
    return !this.settings.selfSigned;
  }

  /**
   * Re-reads the files when their size or mtime changed (checked at most once per `minIntervalMs`).
   * Returns true when new material was loaded; a file that fails to load keeps the old material and
   * logs one warning.
   */
  reloadIfChanged(log: TlsReloadLogger, minIntervalMs = 1000): boolean {
    const now = Date.now();
    if (now - this.#checkedAt < minIntervalMs) return false;
    this.#checkedAt = now;
    const fp = this.#currentFingerprint();
    if (fp === this.#fingerprint) return false;
    this.#fingerprint = fp;
    try {
      const opts = this.#load();
      this.#contextOptions = opts;
      this.#dialContext = this.#buildDialContext();
      this.#generation++;
      log.info({ 'cert-file': this.settings.certFile }, 'reloaded TLS certificates');
      return true;
    } catch (err) {
      log.warn({ error: err instanceof Error ? err.message : String(err) }, 'failed to reload TLS certificates; keeping the previous ones');
      return false;
    }
  }

  #files(): string[] {
    const s = this.settings;
    return [s.certFile, s.keyFile, s.clientCertFile, s.clientKeyFile, s.trustedCaFile, s.crlFile].filter((f) => f !== '');
  }

  #currentFingerprint(): string {
    return this.#files()
      .map((f) => {
        try {
          const st = statSync(f);
          return `${f}:${st.size}:${st.mtimeMs}`;
        } catch {
          return `${f}:missing`;
        }
      })
      .join('|');
  }

  #read(file: string, what: string): Buffer {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read ${what} ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #load(): SecureContextOptions {
    const s = this.settings;
    if (s.certFile === '' || s.keyFile === '') throw new Error('TLS needs both a certificate file and a key file');
    const opts: SecureContextOptions = {
      cert: this.#read(s.certFile, 'certificate file'),
      key: this.#read(s.keyFile, 'key file'),
      minVersion: NODE_VERSION[s.minVersion],
      ...(s.maxVersion !== '' ? { maxVersion: NODE_VERSION[s.maxVersion] } : {}),
    };
    const ciphers = cipherString(s.cipherSuites);
    if (ciphers !== undefined) opts.ciphers = ciphers;
    if (s.trustedCaFile !== '') opts.ca = this.#read(s.trustedCaFile, 'trusted CA file');
    if (s.crlFile !== '') opts.crl = this.#read(s.crlFile, 'CRL file');
    // Parse now so a bad file fails at start (or reload), not at the first handshake.
    try {
      createSecureContext(opts);
    } catch (err) {
      throw new Error(`invalid TLS material (${s.certFile}, ${s.keyFile}): ${err instanceof Error ? err.message : String(err)}`);
    }
    return opts;
  }

  #buildDialContext(): SecureContext {
    const s = this.settings;
    const o = this.#contextOptions;
    const dial: SecureContextOptions = { ...o };
    if (s.clientCertFile !== '' && s.clientKeyFile !== '') {
      dial.cert = this.#read(s.clientCertFile, 'client certificate file');
      dial.key = this.#read(s.clientKeyFile, 'client key file');
    }
    delete dial.crl;
    return createSecureContext(dial);
  }
}
