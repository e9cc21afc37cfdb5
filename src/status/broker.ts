/**
 * The embedded MQTT broker (aedes), used when no external broker is configured, so monitoring
 * can subscribe to the box directly. Anyone may subscribe; only the box's own feed client (which
 * authenticates with a per-run random token) may publish, so a stray client cannot forge state.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';

export interface EmbeddedBroker {
  host: string;
  port: number;
  /** Credentials the feed client must use to be allowed to publish. */
  publisher: { clientId: string; username: string; password: string };
  close(): Promise<void>;
}

export async function startEmbeddedBroker(host: string, port: number, clientId: string): Promise<EmbeddedBroker> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const publisher = { clientId, username: 'rackwitness', password: randomBytes(18).toString('base64url') };
  const trusted = new WeakSet<object>();
  broker.authenticate = (client, username, password, done) => {
    if (client.id === publisher.clientId) {
      const ok = username === publisher.username && password?.toString() === publisher.password;
      if (ok) trusted.add(client);
      // A client impersonating the feed's id without the token is refused (CONNACK 5).
      done(ok ? null : Object.assign(new Error('not authorized'), { returnCode: 5 }), ok);
      return;
    }
    done(null, true);
  };
  broker.authorizePublish = (client, _packet, done) => {
    done(client && trusted.has(client) ? null : new Error('the box accepts no publications'));
  };
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      broker.close();
      reject(
        new Error(
          e.code === 'EADDRINUSE'
            ? `status.mqtt.embedded.port: port ${port} on ${host} is already in use`
            : `status.mqtt.embedded: cannot listen on ${host}:${port} (${e.code ?? e.message})`,
        ),
      );
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  return {
    host,
    port: boundPort,
    publisher,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        broker.close(() => undefined);
        // open client sockets keep server.close() pending; the broker closes them
      }),
  };
}
