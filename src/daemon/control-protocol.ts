/**
 * The local control API: newline-delimited JSON over a unix socket. One request per line
 * `{"id": n, "method": "status", "params": {...}}`, one response per line
 * `{"id": n, "ok": true, "result": ...}` or `{"id": n, "ok": false, "error": "..."}`.
 */
export interface ControlRequest {
  id: number;
  method: string;
  params?: Record<string, unknown>;
}

export type ControlResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string; code?: string };

/** Bound on one request line; longer lines are refused and the connection closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;
