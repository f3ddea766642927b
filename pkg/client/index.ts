/** pkg/client — the small etcd client berthctl is built on. */
export { Client, grpcTarget, type ClientOptions, type Services, type UnaryCall } from './client.js';
export { ClientError, errorMessage, isUnreachable, toClientError } from './errors.js';
