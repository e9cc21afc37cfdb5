import { z } from 'zod';
import { pathField, port, seconds, secretFile, serviceSwitches } from '../config/fields.js';
import type { ConfigRule } from '../config/rules.js';

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
    embedded: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1').meta({ description: 'Address the embedded broker binds.' }),
        port: port('Port of the embedded broker.').default(1883),
      })
      .prefault({})
      .meta({ description: 'Embedded broker, used when no url is set.' }),
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
