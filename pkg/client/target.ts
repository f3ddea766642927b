/** `http://host:port` / `https://…` / `host:port` → the grpc-js target `host:port`. */
export function grpcTarget(endpoint: string): string {
  return endpoint.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
}
