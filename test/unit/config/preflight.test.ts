import { describe, expect, it } from 'vitest';
import { type Listener, listenerClashes } from '../../../src/config/preflight.js';

const l = (path: string, host: string, port: number, proto: Listener['proto'] = 'tcp'): Listener => ({
  path,
  what: path,
  host,
  port,
  proto,
});

describe('listener clashes (preflight core)', () => {
  it('same port and protocol clash when the hosts overlap (equal, or either a wildcard)', () => {
    expect(listenerClashes([l('a', '127.0.0.1', 9642), l('b', '127.0.0.1', 9642)])).toHaveLength(1);
    expect(listenerClashes([l('a', '0.0.0.0', 9642), l('b', '127.0.0.13', 9642, 'tcp+udp')])).toHaveLength(1);
    expect(listenerClashes([l('a', '::', 9642), l('b', '10.0.0.1', 9642)])).toHaveLength(1);
  });
  it('different hosts, ports or protocols do not', () => {
    expect(listenerClashes([l('a', '127.0.0.1', 9642), l('b', '127.0.0.13', 9642)])).toEqual([]);
    expect(listenerClashes([l('a', '0.0.0.0', 9642), l('b', '0.0.0.0', 9641)])).toEqual([]);
    expect(listenerClashes([l('a', '0.0.0.0', 9642, 'udp'), l('b', '0.0.0.0', 9642, 'tcp')])).toEqual([]);
  });
  it('names both culprits', () => {
    expect(
      listenerClashes([
        l('fencing.api.port', '0.0.0.0', 9929),
        l('arbitrator.booth_config', '10.0.0.3', 9929, 'tcp+udp'),
      ]),
    ).toEqual([
      {
        path: 'arbitrator.booth_config',
        message:
          'port 9929 of arbitrator.booth_config on 10.0.0.3 is also the port of fencing.api.port on 0.0.0.0 (fencing.api.port); they cannot both listen',
      },
    ]);
  });
});
