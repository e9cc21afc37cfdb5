import { z } from 'zod';
import { pathField, port, seconds, secretFile, serviceSwitches } from '../config/fields.js';
import type { ConfigRule } from '../config/rules.js';

export const bridgeConfigSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^(mqtts?|tcp|tls):\/\/[^/@\s]+$/, 'must be like mqtt://host:1883 (no credentials, no path)')
      .meta({ description: 'External broker the embedded broker forwards the feed to (mqtt:// or mqtts://).' }),
    client_id: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Client id on the external broker; default rackwitness-<box.name>-bridge.' }),
    username: z.string().min(1).optional().meta({ description: 'User name on the external broker.' }),
    password_file: secretFile('File holding the password on the external broker.').optional(),
    ca_file: pathField('CA certificate (PEM) to verify an mqtts:// external broker.').optional(),
    cert_file: pathField('Client certificate (PEM) for mutual TLS with the external broker.').optional(),
    key_file: secretFile('Client private key (PEM) for mutual TLS with the external broker.').optional(),
    keepalive_s: z.number().int().min(5).max(600).default(30).meta({
      description:
        'MQTT keepalive of the bridge connection. When the box dies without closing it, the external broker publishes the last will ("offline" on <base>/bridge/state) within 1.5 × keepalive.',
    }),
    reconnect_s: seconds(
      'Delay between reconnection attempts while the external broker is unreachable.',
      0.1,
      600,
    ).default(5),
  })
  .meta({
    description:
      'Bridge from the embedded broker to an external one: every publication of the box is forwarded, retained ones are replayed after a reconnect, and the bridge connection registers the last will, so an external broker sees the box go offline. Start waits up to connect_timeout_s for the first connection, then goes on without it; the status service is degraded while the bridge is not connected.',
  });

export const mqttConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Publish the status feed over MQTT.' }),
    url: z
      .string()
      .regex(/^(mqtts?|wss?|tcp|tls):\/\/[^/@\s]+$/, 'must be like mqtt://host:1883 (no credentials, no path)')
      .optional()
      .meta({
        description:
          'External broker URL (mqtt:// or mqtts://). When absent, the box runs its embedded broker and publishes to it.',
      }),
    base_topic: z
      .string()
      .regex(/^[^#+\s]+[^/#+\s]$/, 'must be a topic without wildcards, spaces or a trailing slash')
      .optional()
      .meta({ description: 'Base topic; default rackwitness/<box.name>.' }),
    client_id: z.string().min(1).optional().meta({ description: 'MQTT client id; default rackwitness-<box.name>.' }),
    username: z.string().min(1).optional().meta({ description: 'Broker user name.' }),
    password_file: secretFile('File holding the broker password.').optional(),
    ca_file: pathField('CA certificate (PEM) to verify an mqtts:// broker.').optional(),
    cert_file: pathField('Client certificate (PEM) for mutual TLS.').optional(),
    key_file: secretFile('Client private key (PEM) for mutual TLS.').optional(),
    keepalive_s: z.number().int().min(5).max(600).default(30).meta({ description: 'MQTT keepalive.' }),
    connect_timeout_s: seconds('How long the first connection may take before start fails.', 0.5, 60).default(5),
    reconnect_min_s: seconds('First reconnect delay after the broker went away.', 0.1, 60).default(1),
    reconnect_max_s: seconds('Reconnect delay ceiling (exponential backoff).', 1, 600).default(30),
    discovery: z
      .strictObject({
        enabled: z.boolean().default(true).meta({
          description:
            'Publish Home Assistant MQTT discovery configs (retained). Turning it off removes the configs published before.',
        }),
        prefix: z
          .string()
          .regex(/^[^#+\s]*[^/#+\s]$/, 'must be a topic without wildcards, spaces or a trailing slash')
          .default('homeassistant')
          .meta({ description: "Home Assistant's discovery prefix (its MQTT integration setting)." }),
      })
      .prefault({})
      .meta({ description: 'Home Assistant MQTT discovery: one device for the box, read-only entities.' }),
    embedded: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1').meta({ description: 'Address the embedded broker binds.' }),
        port: port('Port of the embedded broker.').default(1883),
        bridge: bridgeConfigSchema.optional(),
      })
      .prefault({})
      .meta({
        description:
          'Embedded broker, used when no url is set. It dies with the box, so on its own nobody sees "offline": configure bridge to forward the feed to an external broker that holds the last will.',
      }),
  })
  .prefault({});

export const httpConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Serve /metrics, /status.json and the status page.' }),
    host: z.string().min(1).default('0.0.0.0').meta({ description: 'Address the HTTP server binds.' }),
    port: port('Port of /metrics and the status page.').default(9641),
  })
  .prefault({});

export const statusConfigSchema = z
  .strictObject({
    ...serviceSwitches,
    mqtt: mqttConfigSchema,
    http: httpConfigSchema,
    health_interval_s: seconds('Period of <base>/bridge/health.', 1, 3600).default(60),
  })
  .prefault({})
  .meta({ description: 'Status feed: MQTT (retained state, LWT), Prometheus /metrics and the status page.' });

export type StatusConfig = z.infer<typeof statusConfigSchema>;

export const statusRules: ConfigRule[] = [
  {
    id: 'status.mqtt.reconnect-order',
    path: 'status.mqtt.reconnect_max_s',
    describe: 'The reconnect ceiling must not be below the first reconnect delay.',
    check: (c) =>
      c.status.mqtt.reconnect_max_s < c.status.mqtt.reconnect_min_s
        ? `reconnect_max_s (${c.status.mqtt.reconnect_max_s}) is below reconnect_min_s (${c.status.mqtt.reconnect_min_s})`
        : undefined,
  },
  {
    id: 'status.mqtt.tls-pair',
    path: 'status.mqtt.key_file',
    describe: 'A client certificate and its key are given together.',
    check: (c) =>
      (c.status.mqtt.cert_file === undefined) !== (c.status.mqtt.key_file === undefined)
        ? 'cert_file and key_file must be given together'
        : undefined,
  },
  {
    id: 'status.mqtt.bridge-needs-embedded',
    path: 'status.mqtt.embedded.bridge',
    describe: 'A bridge belongs to the embedded broker: it is not used when url names an external broker.',
    check: (c) =>
      c.status.mqtt.embedded.bridge && c.status.mqtt.url !== undefined
        ? 'a bridge is set but url is too: with url the box publishes to that broker directly (its last will already covers a dead box); remove one of them'
        : undefined,
  },
  {
    id: 'status.mqtt.bridge-tls-pair',
    path: 'status.mqtt.embedded.bridge.key_file',
    describe: "The bridge's client certificate and its key are given together.",
    check: (c) => {
      const b = c.status.mqtt.embedded.bridge;
      return b && (b.cert_file === undefined) !== (b.key_file === undefined)
        ? 'cert_file and key_file must be given together'
        : undefined;
    },
  },
  {
    id: 'status.port-clash',
    path: 'status.http.port',
    describe: 'The HTTP port and the embedded broker port differ when both run.',
    check: (c) =>
      c.status.http.enabled &&
      c.status.mqtt.enabled &&
      c.status.mqtt.url === undefined &&
      c.status.http.port === c.status.mqtt.embedded.port
        ? `port ${c.status.http.port} is also the embedded MQTT broker's port`
        : undefined,
  },
];
