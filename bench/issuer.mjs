/**
 * Child-process entry for the benchmark's issuer. argv[2] is JSON `{ "jwks": {...} }`; once
 * listening it sends `{ type: 'listening', port }` to the parent over IPC. It exits when the
 * parent disconnects or asks it to.
 */
import { startIssuer } from './lib/issuer-server.mjs';

const { jwks } = JSON.parse(process.argv[2] ?? '{}');
process.on('disconnect', () => process.exit(0));
process.on('message', (message) => {
  if (message?.type === 'shutdown') process.exit(0);
});

try {
  const issuer = await startIssuer({ jwks });
  process.send({ type: 'listening', port: issuer.port });
} catch (error) {
  process.send?.({ type: 'error', message: String(error?.stack ?? error) });
  process.exit(1);
}
