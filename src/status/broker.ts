/**
 * The embedded MQTT broker (aedes), used when no external broker is configured, so monitoring
 * can subscribe to the box directly. Anyone may subscribe; only the box's own feed client (which
 * authenticates with a per-run random token) may publish, so a stray client cannot forge state.
 *
 * What it cannot do on its own: the box's last will lives in this broker, so when the box dies
 * (kill -9, power loss, kernel panic) the broker dies with it and its subscribers never receive
 * "offline"; they keep the last retained "online". For monitoring that must see a dead box, the
 * optional bridge forwards every publication of the feed to an external broker over a connection
 * that registers the last will ("offline" on <base>/bridge/state, retained) THERE: the external
 * broker publishes it when the bridge connection closes without a DISCONNECT, or at the latest
 * 1.5 × keepalive after the box stopped answering. Retained topics are replayed after each
 * (re)connection, so the external broker holds the same retained picture as the box.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { IClientOptions, MqttClient } from 'mqtt';

export interface EmbeddedBroker {
  host: string;
  port: number;
  /** Credentials the feed client must use to be allowed to publish. */
  publisher: { clientId: string; username: string; password: string };
  /** The bridge's state, when one is configured. */
  bridge?: BridgeStatus;
  close(): Promise<void>;
}

export interface BridgeOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  keepaliveS: number;
  reconnectS: number;
  /** How long start waits for the first connection (it goes on without one, degraded). */
  connectTimeoutS: number;
  /** <base>/bridge/state: the last will registered on the external broker. */
  stateTopic: string;
  /** Called when the bridge connects or loses its connection. */
  onChange?: () => void;
}

export interface BridgeStatus {
  url: string;
  connected: boolean;
  lastError?: string;
  forwarded: number;
  reconnects: number;
}

const OFFLINE = '{"state":"offline"}';

/** The forwarding half of the bridge: one mqtt.js client on the external broker. */
class Bridge {
  private client: MqttClient | undefined;
  /** Last retained payload per topic (empty = cleared), replayed after every (re)connection. */
  private readonly retained = new Map<string, { payload: Buffer; qos: 0 | 1 | 2 }>();
  readonly status: BridgeStatus;

  constructor(private readonly o: BridgeOptions) {
    this.status = { url: o.url, connected: false, forwarded: 0, reconnects: 0 };
  }

  async start(): Promise<void> {
    const { connect } = await import('mqtt');
    const opts: IClientOptions = {
      clientId: this.o.clientId,
      ...(this.o.username ? { username: this.o.username } : {}),
      ...(this.o.password ? { password: this.o.password } : {}),
      ...(this.o.ca ? { ca: this.o.ca } : {}),
      ...(this.o.cert ? { cert: this.o.cert } : {}),
      ...(this.o.key ? { key: this.o.key } : {}),
      keepalive: this.o.keepaliveS,
      reconnectPeriod: this.o.reconnectS * 1000,
      connectTimeout: this.o.connectTimeoutS * 1000,
      clean: true,
      // only what the box publishes goes out; nothing queued while disconnected (replayed instead)
      queueQoSZero: false,
      will: { topic: this.o.stateTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    };
    const client = connect(this.o.url, opts);
    this.client = client;
    const first = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.o.connectTimeoutS * 1000);
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
    client.on('connect', () => {
      this.status.connected = true;
      this.status.lastError = undefined;
      for (const [topic, m] of this.retained) this.send(topic, m.payload, m.qos, true);
      this.o.onChange?.();
    });
    client.on('close', () => {
      const was = this.status.connected;
      this.status.connected = false;
      if (was) this.o.onChange?.();
    });
    client.on('reconnect', () => {
      this.status.reconnects++;
    });
    client.on('error', (e) => {
      this.status.lastError = describeError(e);
    });
    await first;
  }

  forward(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean): void {
    if (retain) {
      this.retained.delete(topic); // keep publication order for the replay
      this.retained.set(topic, { payload, qos });
    }
    if (this.status.connected) this.send(topic, payload, qos, retain);
  }

  private send(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean): void {
    this.client?.publish(topic, payload, { qos, retain }, (err) => {
      if (err) this.status.lastError = describeError(err);
    });
    this.status.forwarded++;
  }

  /** A clean stop: "offline" on the external broker too, then DISCONNECT (the will is not sent). */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (this.status.connected)
      await bounded(client.publishAsync(this.o.stateTopic, OFFLINE, { qos: 1, retain: true }), 2000).catch(() => {});
    await bounded(client.endAsync(), 2000).catch(() => client.end(true));
    this.status.connected = false;
  }
}

function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? err?.message ?? String(e);
}

function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

export async function startEmbeddedBroker(
  host: string,
  port: number,
  clientId: string,
  bridgeOptions?: BridgeOptions,
): Promise<EmbeddedBroker> {
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
  const bridge = bridgeOptions ? new Bridge(bridgeOptions) : undefined;
  if (bridge) {
    broker.on('publish', (packet, client) => {
      // the feed's publications only ($SYS and will messages of other clients stay here)
      if (!client || !trusted.has(client)) return;
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      bridge.forward(packet.topic, payload, packet.qos, packet.retain);
    });
  }
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
  await bridge?.start();
  return {
    host,
    port: boundPort,
    publisher,
    ...(bridge ? { bridge: bridge.status } : {}),
    close: async () => {
      await bridge?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        broker.close(() => undefined);
        // open client sockets keep server.close() pending; the broker closes them
      });
    },
  };
}
