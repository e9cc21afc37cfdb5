/** The PostgreSQL agent's pure decision cores (no I/O). Stable API: the rack observer imports it. */
export * from './election.js';
export * from './lsn.js';
export * from './notify.js';
export * from './rejoin.js';
export * from './scores.js';
export * from './state.js';
export * from './switchover.js';
export * from './types.js';
export * from './wal.js';
