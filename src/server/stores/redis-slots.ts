import { randomBytes } from 'node:crypto';

/**
 * Redis Cluster hash slots (CRC16/XMODEM of the hash tag, mod 16384), and
 * fresh session ids drawn in a given slot: a rotation then moves a session
 * within its slot, in one atomic script, on a Cluster as on one server.
 */

const TABLE = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  TABLE[byte] = crc;
}

function crc16(text: string, crc = 0): number {
  for (let i = 0; i < text.length; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ text.charCodeAt(i)) & 0xff]!;
  return crc;
}

/** The slot of a hash tag (ASCII, as session ids and their tags are). */
export function hashSlot(tag: string): number {
  return crc16(tag) & 16383;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A new 43-character base64url id in the slot of `tag`: 40 random characters
 * (240 bits: as unguessable as ever), then the first 3-character suffix that
 * lands in the slot (64³ suffixes cover the 16384 slots many times over).
 */
export function sameSlotId(tag: string): string {
  const slot = hashSlot(tag);
  for (;;) {
    const head = randomBytes(30).toString('base64url');
    const crc = crc16(head);
    const start = randomBytes(3);
    for (let n = 0; n < 64 ** 3; n++) {
      const index = (n + start.readUIntBE(0, 3)) % 64 ** 3;
      const tail = ALPHABET[index >> 12]! + ALPHABET[(index >> 6) & 63]! + ALPHABET[index & 63]!;
      if ((crc16(tail, crc) & 16383) === slot) return head + tail;
    }
  }
}

/** The first 3-character tail of each CRC16 value mod 16384, made on first use (64³ tails cover every value). */
let tails: string[] | undefined;

function tailOf(value: number): string {
  if (!tails) {
    tails = new Array<string>(16384);
    for (let index = 0; index < 64 ** 3; index++) {
      const tail = ALPHABET[index >> 12]! + ALPHABET[(index >> 6) & 63]! + ALPHABET[index & 63]!;
      tails[crc16(tail) & 16383] ??= tail;
    }
  }
  return tails[value]!;
}

/**
 * `id` (43 base64url characters) with its last 3 replaced so that it lands
 * in the slot of `tag`: the same for the same arguments, on every process.
 * CRC16 is linear, so the tail's own CRC is found by a table look-up: the
 * CRC of head + tail is the tail's CRC xor the head's CRC run through 3 zero bytes.
 */
export function inSlotOf(id: string, tag: string): string {
  const head = id.slice(0, 40);
  const shifted = crc16('\u0000\u0000\u0000', crc16(head));
  return head + tailOf((hashSlot(tag) ^ shifted) & 16383);
}
