/** pkg/client — the small etcd client berthctl is built on. */
export { Client, grpcTarget, TlsHandshakeError, type ClientOptions, type Services, type UnaryCall } from './client.js';
export { loadTls, usesTls, type TlsOptions } from './transport.js';
export { ClientError, errorMessage, isUnreachable, toClientError } from './errors.js';
