/**
 * Issue 12 item 6: booth TCP client slots (32) could be held by 40 connections dribbling a byte
 * every 2 s, since the only bound was an idle timeout. Each connection now also has a total
 * deadline, so the slots come free and a real `booth list` client is served again.
 */
import { createConnection, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Arbitrator } from '../../../src/arbitrator/arbitrator.js';
import { parseBoothConf } from '../../../src/arbitrator/boothconf.js';
import { freePort, sleep, until } from '../../fixtures/proc.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe('booth TCP client slots', () => {
  it('40 connections dribbling a byte are cut at the total deadline; the slots come free', async () => {
    const port = await freePort('127.0.0.13');
    const conf = parseBoothConf(
      `port = ${port}\nsite = 127.0.0.11\nsite = 127.0.0.12\narbitrator = 127.0.0.13\nticket = "db"\n  expire = 12\n  timeout = 1\n  retries = 3\n`,
    );
    const arb = new Arbitrator({
      conf,
      self: conf.members[2] as (typeof conf.members)[number],
      key: undefined,
      log: quiet,
      event: () => {},
      clientTimeoutMs: 1000,
    });
    await arb.start();
    const closed = new Set<number>();
    const socks: Socket[] = [];
    for (let i = 0; i < 40; i++) {
      const s = createConnection({ host: '127.0.0.13', port });
      s.on('error', () => {});
      s.on('close', () => closed.add(i));
      socks.push(s);
      // one at a time (the listen backlog is 5): every one reaches the server
      await new Promise<void>((r) => {
        s.once('connect', () => r());
        s.once('close', () => r());
      });
    }
    // a byte every 300 ms: well inside the idle bound, so only a total deadline cuts them
    const drip = setInterval(() => {
      for (const s of socks) if (!s.destroyed) s.write(Buffer.from([0]));
    }, 300);
    try {
      await sleep(500); // kept: "the 32 admitted clients are NOT cut for 500 ms" is the behaviour under test
      expect(closed.size).toBeLessThanOrEqual(8); // the 8 over the 32 slots are refused at once
      await until(() => closed.size === 40, 3000, 50).catch((e) => {
        throw new Error(`${closed.size} of 40 closed: ${e}`);
      });
    } finally {
      clearInterval(drip);
      for (const s of socks) s.destroy();
      await arb.stop();
    }
  });
});
