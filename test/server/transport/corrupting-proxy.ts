/**
 * A loopback TCP proxy that, once armed, flips one byte in the middle of the first run of 64 equal
 * `pattern` bytes it forwards towards the server: a bit error inside a snapshot chunk's data that
 * HTTP/2 framing does not notice (only the chunk's crc32 can).
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface CorruptingProxy {
  readonly url: string;
  arm(pattern: number): void;
  readonly flipped: () => boolean;
  close(): Promise<void>;
}

export async function startCorruptingProxy(targetPort: number): Promise<CorruptingProxy> {
  let armed: number | undefined;
  let flipped = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (buf: Buffer) => {
      if (armed !== undefined && !flipped) {
        const run = Buffer.alloc(64, armed);
        const at = buf.indexOf(run);
        if (at >= 0) {
          buf[at + 32] = (buf[at + 32] as number) ^ 0xff;
          flipped = true;
        }
      }
      upstream.write(buf);
    });
    upstream.on('data', (buf: Buffer) => client.write(buf));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    arm: (pattern) => {
      armed = pattern;
    },
    flipped: () => flipped,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
