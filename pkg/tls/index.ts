/** pkg/tls — TLS material, self-signed certificates (auto TLS), peer identity. See docs/tls.md. */
export { TlsMaterial, cipherString, type TlsSettings, type TlsReloadLogger } from './material.js';
export { resolveTls, type TlsSide, type TlsLogger } from './resolve.js';
export { selfCert, generateSelfSigned, selfSignedCertificate, ipBytes, type CertificateRequest, type CertificatePair, type ExtKeyUsage } from './self-cert.js';
export { peerCertificate, peerCertificateCommonName, requestCertificateCommonName, certificateCommonName, type CallWithAuthContext } from './peer-identity.js';
export { checkAllowedCn, checkAllowedHostname, checkClientSan, subjectAltNames, type Resolve } from './client-checks.js';
