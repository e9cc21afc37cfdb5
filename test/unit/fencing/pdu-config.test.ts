/**
 * The three PDU/relay device kinds inside the real config loader: they parse under
 * fencing.devices, relative paths are resolved against the config file, secret files are
 * checked, and a bad key is reported with its path.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigText } from '../../../src/config/load.js';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const yaml = (dir: string, extra = '') => `
box:
  name: witness
fencing:
  api:
    enabled: false
  devices:
    - driver: apc-snmp
      name: pdu-a
      host: 10.0.0.21
      version: "3"
      v3:
        user: fencer
        auth_password_file: pdu-a.auth
        priv_password_file: pdu-a.priv
      outlets: { "3": node-a, "4": node-b }
    - driver: pdu-serial
      name: pdu-b
      device: /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KXYZ1-if00-port0
      user: apc
      password_file: ${join(dir, 'pdu-b.pw')}
${extra}
    - driver: gpio-relay
      name: relays
      chip_label: pinctrl-rp1
      relays:
        "1": { line: 17, active_low: true, sense: { line: 22 } }
      outlets: { "1": node-a }
  targets:
    node-a:
      levels:
        - plugs: [{ device: pdu-a, plug: "3" }, { device: pdu-b, plug: "1" }]
        - plugs: [{ device: relays, plug: node-a }]
`;

describe('PDU device config in the config loader', () => {
  it('parses, fills defaults, resolves relative secret paths, and checks secret files', () => {
    const dir = cleanupDir(tempDir('rwpdu-cfg-'));
    for (const f of ['pdu-a.auth', 'pdu-a.priv', 'pdu-b.pw']) writeFileSync(join(dir, f), 'secret\n', { mode: 0o600 });
    const file = join(dir, 'rackwitness.yaml');
    let loaded: ReturnType<typeof loadConfigText> | undefined;
    try {
      loaded = loadConfigText(yaml(dir), file, { env: {} });
    } catch (e) {
      throw new Error(JSON.stringify((e as ConfigError & { problems?: unknown }).problems ?? String(e)));
    }
    const { config } = loaded;
    const devs = config.fencing?.devices ?? [];
    expect(devs.map((d) => d.driver)).toEqual(['apc-snmp', 'pdu-serial', 'gpio-relay']);
    expect(devs[0]).toMatchObject({ port: 161, family: 'auto', v3: { auth_password_file: join(dir, 'pdu-a.auth') } });
    expect(devs[1]).toMatchObject({ baud: 9600, data_bits: 8, parity: 'none', stop_bits: 1, session_linger_s: 5 });
    expect(devs[2]).toMatchObject({ sysfs_root: '/sys', backend: 'auto' });

    chmodSync(join(dir, 'pdu-a.priv'), 0o644); // readable by others: refused, naming the key
    expect(() => loadConfigText(yaml(dir), file, { env: {} })).toThrow(/v3\.priv_password_file/);
  });

  it('an unknown key of a PDU device is an error naming it', () => {
    const dir = cleanupDir(tempDir('rwpdu-cfg-'));
    let err: unknown;
    try {
      loadConfigText(yaml(dir, '      speed: 9600'), join(dir, 'x.yaml'), { env: {}, skipFileChecks: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(/fencing\.devices\.1.*speed|speed/);
  });
});
