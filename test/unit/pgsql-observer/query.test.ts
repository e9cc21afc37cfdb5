import { describe, expect, it } from 'vitest';
import { ObservationFormatError, parseObservationRow } from '../../../src/pgsql/observer/query.js';
import { RAW_PRIMARY_ROW, RAW_STANDBY_ROW } from './rows.js';

describe('parseObservationRow', () => {
  it('types a primary row as node-pg returns it', () => {
    const r = parseObservationRow(RAW_PRIMARY_ROW);
    expect(r.inRecovery).toBe(false);
    expect(r.currentLsn).toBe('0/3000000');
    expect(r.currentWalFile).toBe('000000010000000000000002');
    expect(r.primarySlotName).toBe('node_a');
    expect(r.replication).toEqual([
      expect.objectContaining({
        applicationName: 'node-b',
        state: 'streaming',
        syncState: 'async',
        flushLsn: '0/3000000',
        replayLagS: 0.100315,
      }),
    ]);
    expect(r.slots[0]).toEqual({
      slotName: 'node_b',
      slotType: 'physical',
      active: true,
      restartLsn: '0/3000000',
      walStatus: 'reserved',
      safeWalSizeBytes: 285212672,
    });
    expect(r.checkpoint).toEqual({
      checkpointLsn: '0/2000060',
      redoLsn: '0/2000028',
      timelineId: 1,
      checkpointAt: 1795322199,
    });
    expect(r.walReceiver).toBeNull();
  });

  it('types a standby row, including its WAL receiver and an unreserved slot', () => {
    const r = parseObservationRow(RAW_STANDBY_ROW);
    expect(r.inRecovery).toBe(true);
    expect(r.currentLsn).toBeNull();
    expect(r.receiveLsn).toBe('0/3000000');
    expect(r.replayPaused).toBe(false);
    expect(r.walReceiver).toEqual(
      expect.objectContaining({ status: 'streaming', receivedTli: 1, slotName: 'node_b', senderPort: 36897 }),
    );
    expect(r.slots[0]?.restartLsn).toBeNull();
  });

  it('accepts json columns delivered as text and numerics as strings', () => {
    const r = parseObservationRow({
      ...RAW_STANDBY_ROW,
      version_num: '150020',
      wal_receiver: JSON.stringify(RAW_STANDBY_ROW.wal_receiver),
      slots: JSON.stringify(RAW_STANDBY_ROW.slots),
      replication: '[]',
    });
    expect(r.versionNum).toBe(150020);
    expect(r.walReceiver?.receivedTli).toBe(1);
    expect(r.slots).toHaveLength(1);
  });

  it('turns an empty primary_slot_name into null', () => {
    expect(parseObservationRow({ ...RAW_PRIMARY_ROW, primary_slot_name: '' }).primarySlotName).toBeNull();
  });

  it('names the field of a malformed row', () => {
    expect(() => parseObservationRow({ ...RAW_PRIMARY_ROW, current_lsn: 'garbage' })).toThrow(
      /current_lsn: expected an LSN/,
    );
    expect(() => parseObservationRow({ ...RAW_PRIMARY_ROW, in_recovery: 't' })).toThrow(
      /in_recovery: expected a boolean/,
    );
    expect(() => parseObservationRow({ ...RAW_PRIMARY_ROW, current_walfile: '0001' })).toThrow(/current_walfile/);
    expect(() =>
      parseObservationRow({ ...RAW_PRIMARY_ROW, slots: [{ ...RAW_PRIMARY_ROW.slots[0], active: null }] }),
    ).toThrow(/slots\[0\]\.active/);
    expect(() => parseObservationRow(undefined)).toThrow(ObservationFormatError);
    expect(() => parseObservationRow({ ...RAW_PRIMARY_ROW, checkpoint: '{not json' })).toThrow(
      /checkpoint: malformed JSON/,
    );
  });
});
