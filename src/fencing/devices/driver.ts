/**
 * The one interface every power device family implements (IPMI BMC, APC over SNMP, PDU serial
 * console, GPIO relay). A driver only talks to its device: it asks, it acts, it reads back. It
 * never decides that a node is fenced; the fencing core does, from verified reads.
 *
 * A "plug" is what the device switches: "chassis" for a BMC, an outlet number or name for a
 * PDU, a relay name for a GPIO relay board.
 */
export type PowerState = 'on' | 'off';

export interface PlugInfo {
  plug: string;
  /** Name the device gives the plug (outlet name), when it has one. */
  name?: string;
  state: PowerState;
}

export interface PowerDriver {
  /** Device family, e.g. "ipmi", "apc-snmp", "apc-serial", "gpio-relay". */
  readonly family: string;
  /** Configured device name, used in logs, journal and status. */
  readonly device: string;
  /** Reads the power state of a plug. Rejects (DriverError) when the state cannot be read. */
  status(plug: string, signal: AbortSignal): Promise<PowerState>;
  /** Asks the device to cut power. Resolves when the device accepted the request; it proves nothing. */
  off(plug: string, signal: AbortSignal): Promise<void>;
  /** Asks the device to restore power. */
  on(plug: string, signal: AbortSignal): Promise<void>;
  /** Lists the plugs the device has, when it can. */
  list?(signal: AbortSignal): Promise<PlugInfo[]>;
  /** Releases sessions, sockets, ports. Never throws. */
  close(): Promise<void>;
}

/** Failure classes a driver reports; the fencing core maps them to results and exit codes. */
export type DriverErrorKind =
  | 'auth' // wrong credentials, unknown user
  | 'privilege' // authenticated but not allowed to switch power
  | 'timeout' // no (valid) answer within the deadline
  | 'protocol' // garbage, truncated or unexpected replies
  | 'refused' // the device answered with an error code (e.g. E102, IPMI completion code)
  | 'no-such-plug' // outlet out of range, unknown relay
  | 'io' // socket/serial/GPIO error (cable pulled, port gone)
  | 'config'; // the driver's settings cannot work (cipher 0 not allowed...)

export class DriverError extends Error {
  constructor(
    readonly kind: DriverErrorKind,
    /** The device (configured name) that failed. */
    readonly device: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${device}: ${message}`, options);
    this.name = 'DriverError';
  }
}
