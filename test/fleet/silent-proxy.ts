/**
 * A TCP proxy to Redis that can make its pub/sub connections go silent without closing them:
 * what a NAT or firewall does to an idle connection it has forgotten. Neither end notices;
 * messages published to the subscriber are simply lost.
 */
import net from 'node:net';

export interface SilentProxy {
  readonly port: number;
  /** Connections that have sent SUBSCRIBE stop forwarding in both directions (left open). */
  silenceSubscribers(): void;
  close(): Promise<void>;
}

/** Starts the proxy on a random port of 127.0.0.1, forwarding to Redis on `targetPort`. */
export async function startSilentProxy(targetPort: number): Promise<SilentProxy> {
  const pairs = new Set<{ inbound: net.Socket; outbound: net.Socket; subscriber: boolean }>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, '127.0.0.1');
    const pair = { inbound, outbound, subscriber: false };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    inbound.on('data', (data: Buffer) => {
      if (/subscribe/i.test(data.toString('latin1'))) pair.subscriber = true;
    });
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    silenceSubscribers() {
      for (const { inbound, outbound, subscriber } of pairs) {
        if (!subscriber) continue;
        inbound.unpipe(outbound);
        outbound.unpipe(inbound);
        // Keep reading both sides so that neither end sees back-pressure; drop what arrives.
        inbound.removeAllListeners('data').resume();
        outbound.resume();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { inbound, outbound } of pairs) {
          inbound.destroy();
          outbound.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
