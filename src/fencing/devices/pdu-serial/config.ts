/** Config schema of the PDU serial-console driver: light, so loading the config never loads serialport. */
import { z } from 'zod';
import { pathField, seconds, secretFile } from '../../../config/fields.js';
import { deviceNameField, outletsField } from '../outlets.js';

export const pduSerialDeviceSchema = z
  .strictObject({
    driver: z.literal('pdu-serial').meta({ description: 'PDU switched through its serial console (APC AOS v5+ CLI).' }),
    name: deviceNameField,
    device: pathField(
      'Serial device by a stable name: /dev/serial/by-id/usb-..., /dev/serial/by-path/... or a udev SYMLINK such as /dev/rackwitness/pdu-a (never /dev/ttyUSB0, which moves).',
    ),
    baud: z
      .union([
        z.literal(1200),
        z.literal(2400),
        z.literal(4800),
        z.literal(9600),
        z.literal(19200),
        z.literal(38400),
        z.literal(57600),
        z.literal(115200),
      ])
      .default(9600)
      .meta({ description: 'Line speed; APC consoles use 9600 (very old AP7610: 19200).' }),
    data_bits: z
      .union([z.literal(7), z.literal(8)])
      .default(8)
      .meta({ description: 'Data bits.' }),
    parity: z.enum(['none', 'even', 'odd']).default('none').meta({ description: 'Parity.' }),
    stop_bits: z
      .union([z.literal(1), z.literal(2)])
      .default(1)
      .meta({ description: 'Stop bits.' }),
    dialect: z
      .literal('apc')
      .default('apc')
      .meta({ description: 'Console dialect; "apc" = AOS v5+ CLI (apc> prompt).' }),
    user: z.string().min(1).meta({ description: 'Console user (needs outlet control rights).' }),
    password_file: secretFile('File holding the console password.'),
    outlets: outletsField(),
    login_timeout_s: seconds('Deadline for waking the console and logging in.', 0.5, 60).default(5),
    command_timeout_s: seconds('Deadline for one command (olStatus/olOff/olOn) to answer.', 0.5, 60).default(5),
    wake_attempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(3)
      .meta({ description: 'ENTER presses before giving up on a silent console.' }),
    session_linger_s: seconds(
      'Keep the console logged in this long after an operation, so the status reads that verify a switch skip the login and banner (about 0.8 s at 9600 bps); 0 = log out after every operation.',
      0,
      60,
    ).default(5),
  })
  .meta({ description: 'A PDU switched through its serial console.' });

export type PduSerialDeviceConfig = z.infer<typeof pduSerialDeviceSchema>;
export type PduSerialDeviceInput = z.input<typeof pduSerialDeviceSchema>;
