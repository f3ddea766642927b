/**
 * One way to put a layer around every method of every gRPC service registered later on a server
 * (the gateway's in-process registry, the learner gate, the auth gate): `server.addService` is
 * replaced by one that wraps each method handler first. Layers installed later run first.
 */
import type { MethodDefinition, Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

export type MethodHandler = UntypedServiceImplementation[string];
export type WrapMethod = (def: MethodDefinition<unknown, unknown>, handler: MethodHandler) => MethodHandler;

export function wrapServices(server: Server, wrap: WrapMethod): void {
  const add = server.addService.bind(server);
  server.addService = (service: ServiceDefinition, implementation: UntypedServiceImplementation): void => {
    const wrapped: UntypedServiceImplementation = { ...implementation };
    for (const [name, def] of Object.entries(service)) {
      const handler = implementation[name];
      if (typeof handler !== 'function') continue;
      wrapped[name] = wrap(def as MethodDefinition<unknown, unknown>, handler);
    }
    add(service, wrapped);
  };
}
