import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configDocs } from '../../../src/config/docs.js';
import { configJsonSchema, objectLeaves } from '../../../src/config/json-schema.js';
import { ConfigError, envName, loadConfigText } from '../../../src/config/load.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

/** Loads YAML text and returns the problems as "path: message" lines (empty when valid). */
function problemsOf(text: string, env: Record<string, string> = {}, source = '(inline)'): string[] {
  try {
    loadConfigText(text, source, { env });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

describe('config loading', () => {
  it('accepts an empty file and fills every default', () => {
    const { config } = loadConfigText('', '(inline)', { env: {} });
    expect(config.box.name).toBe('witness');
    expect(config.control.socket).toBe('/run/rackwitness/control.sock');
    expect(config.status.mqtt.embedded.port).toBe(1883);
    expect(config.status.http.port).toBe(9641);
  });

  it('names the line of malformed YAML', () => {
    const p = problemsOf('box:\n  name: a\n   bad: [\n');
    expect(p.length).toBeGreaterThan(0);
    expect(p[0]).toMatch(/^line \d+, column \d+: /);
  });

  it('rejects a duplicate key instead of silently taking the last one', () => {
    expect(problemsOf('box:\n  name: a\n  name: b\n').join('\n')).toMatch(/line 3/);
  });

  it('names every unknown key with its full path', () => {
    const p = problemsOf('box:\n  nmae: x\nstatus:\n  mqtt:\n    urll: mqtt://a\nfrobnicate: 1\n');
    expect(p).toEqual(
      expect.arrayContaining(['box.nmae: unknown key', 'status.mqtt.urll: unknown key', 'frobnicate: unknown key']),
    );
  });

  it('names wrong types and out-of-range values', () => {
    const p = problemsOf('status:\n  http:\n    port: "ninety"\n  mqtt:\n    keepalive_s: 1\n');
    expect(p.some((l) => l.startsWith('status.http.port: '))).toBe(true);
    expect(p.some((l) => l.startsWith('status.mqtt.keepalive_s: '))).toBe(true);
  });

  it('refuses credentials inside the broker URL', () => {
    expect(problemsOf('status:\n  mqtt:\n    url: mqtt://user:secret@broker:1883\n')[0]).toMatch(
      /^status\.mqtt\.url: /,
    );
  });

  it('runs cross-field rules and names the key to change', () => {
    const p = problemsOf('status:\n  mqtt:\n    reconnect_min_s: 20\n    reconnect_max_s: 5\n');
    expect(p).toEqual(['status.mqtt.reconnect_max_s: reconnect_max_s (5) is below reconnect_min_s (20)']);
    const clash = problemsOf('status:\n  http:\n    port: 1883\n');
    expect(clash[0]).toMatch(/^status\.http\.port: .*embedded MQTT broker/);
  });

  it('checks the MQTT discovery and bridge keys', () => {
    const ok = loadConfigText(
      'status:\n  mqtt:\n    embedded:\n      bridge: {url: "mqtt://broker:1883", keepalive_s: 10}\n',
      '(inline)',
      { env: {} },
    ).config.status.mqtt;
    expect(ok.discovery).toEqual({ enabled: true, prefix: 'homeassistant' });
    expect(ok.embedded.bridge).toMatchObject({ url: 'mqtt://broker:1883', keepalive_s: 10, reconnect_s: 5 });
    // a bridge only exists on the embedded broker
    expect(
      problemsOf('status:\n  mqtt:\n    url: mqtt://a:1883\n    embedded:\n      bridge: {url: "mqtt://b:1883"}\n'),
    ).toEqual([expect.stringMatching(/^status\.mqtt\.embedded\.bridge: a bridge is set but url is too/)]);
    expect(
      problemsOf('status:\n  mqtt:\n    embedded:\n      bridge: {url: "mqtt://b:1883", cert_file: /etc/c.pem}\n'),
    ).toEqual(['status.mqtt.embedded.bridge.key_file: cert_file and key_file must be given together']);
    // credentials only from files, never in the URL; unknown keys named
    expect(
      problemsOf('status:\n  mqtt:\n    embedded:\n      bridge: {url: "mqtt://u:pw@b:1883", password: pw}\n'),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^status\.mqtt\.embedded\.bridge\.url: /),
        'status.mqtt.embedded.bridge.password: unknown key',
      ]),
    );
    expect(problemsOf('status:\n  mqtt:\n    discovery: {prefix: "ha/#"}\n')).toEqual([
      expect.stringMatching(/^status\.mqtt\.discovery\.prefix: must be a topic without wildcards/),
    ]);
  });

  it('applies env overrides over the file, typed by the schema', () => {
    const { config, fromEnv } = loadConfigText('box:\n  name: filebox\n', '(inline)', {
      env: {
        RACKWITNESS_BOX_NAME: 'envbox',
        RACKWITNESS_STATUS_HTTP_PORT: '9999',
        RACKWITNESS_STATUS_MQTT_ENABLED: 'false',
      },
    });
    expect(config.box.name).toBe('envbox');
    expect(config.status.http.port).toBe(9999);
    expect(config.status.mqtt.enabled).toBe(false);
    expect(fromEnv['box.name']).toBe('RACKWITNESS_BOX_NAME');
  });

  it('names the env variable behind a bad override, and unknown RACKWITNESS_ variables', () => {
    expect(problemsOf('', { RACKWITNESS_STATUS_HTTP_PORT: 'x' })).toEqual([
      'status.http.port (from RACKWITNESS_STATUS_HTTP_PORT): "x" is not a number',
    ]);
    expect(problemsOf('', { RACKWITNESS_STATUS_HTTP_PORT: '70000' })[0]).toMatch(
      /^status\.http\.port \(from RACKWITNESS_STATUS_HTTP_PORT\): /,
    );
    expect(problemsOf('', { RACKWITNESS_NO_SUCH_KEY: '1' })).toEqual([
      'RACKWITNESS_NO_SUCH_KEY: environment variable names no config key',
    ]);
  });

  it('maps every overridable key to exactly one env variable', () => {
    const names = objectLeaves().map((l) => envName(l.path));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('RACKWITNESS_STATUS_MQTT_EMBEDDED_PORT');
  });

  it('resolves relative paths against the config file directory', () => {
    const dir = cleanupDir(tempDir());
    const { config } = loadConfigText(
      'box:\n  state_dir: state\ncontrol:\n  socket: run/c.sock\n',
      join(dir, 'rw.yaml'),
      { env: {} },
    );
    expect(config.box.state_dir).toBe(join(dir, 'state'));
    expect(config.control.socket).toBe(join(dir, 'run/c.sock'));
  });

  it('checks secret files: missing, group/other-readable, and accepts 0600', () => {
    const dir = cleanupDir(tempDir());
    const secret = join(dir, 'mqtt.pass');
    const yaml = `status:\n  mqtt:\n    url: mqtt://127.0.0.1:1\n    username: rw\n    password_file: ${secret}\n`;
    expect(problemsOf(yaml)[0]).toMatch(/^status\.mqtt\.password_file: secret file .* cannot be read \(ENOENT\)/);
    writeFileSync(secret, 'hunter2\n');
    chmodSync(secret, 0o644);
    expect(problemsOf(yaml)).toEqual([
      `status.mqtt.password_file: secret file ${secret} has mode 0644; it must not be group/other-accessible (chmod 600)`,
    ]);
    chmodSync(secret, 0o600);
    expect(problemsOf(yaml)).toEqual([]);
  });

  it('reports all problems at once, not just the first', () => {
    const p = problemsOf('box:\n  name: "Not Valid!"\nlog:\n  level: loud\nextra: 1\n');
    expect(p.length).toBe(3);
  });
});

describe('exported schema and docs', () => {
  it('exports a JSON Schema that forbids unknown keys and marks secret files', () => {
    const s = configJsonSchema();
    expect(s.additionalProperties).toBe(false);
    const text = JSON.stringify(s);
    expect(text).toContain('"x-secret-file":true');
  });

  it('documents every overridable key and every rule', () => {
    const docs = configDocs();
    for (const leaf of objectLeaves()) expect(docs).toContain(`\`${leaf.path.join('.')}\``);
    expect(docs).toContain('status.mqtt.reconnect_max_s');
    expect(docs).toContain('Cross-field rules');
  });
});
