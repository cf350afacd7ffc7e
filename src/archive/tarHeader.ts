// USTAR headers for the few entry kinds an image archive has (directories and regular files with short names).
// Written by hand because the archive stream must know which bytes are layer data (stored, not re-compressed)
// and which are framing; a tar library hides that boundary. Sizes of 8 GiB and more use the GNU base-256 form.

export const TAR_BLOCK = 512;
const OCTAL_SIZE_LIMIT = 8 ** 11; // 11 octal digits

export interface TarEntry {
  name: string;
  size: number;
  type: "file" | "directory";
  /** Seconds since the epoch; 0 keeps archives byte-reproducible. */
  mtime?: number;
}

export function encodeTarHeader(entry: TarEntry): Buffer {
  const name = Buffer.from(entry.name, "utf8");
  if (name.length > 100) throw new RangeError(`tar entry name longer than 100 bytes: ${entry.name}`);
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw new RangeError(`invalid tar entry size ${entry.size}`);
  const header = Buffer.alloc(TAR_BLOCK);
  name.copy(header, 0);
  writeOctal(header, 100, 8, entry.type === "directory" ? 0o755 : 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  if (entry.size < OCTAL_SIZE_LIMIT) writeOctal(header, 124, 12, entry.size);
  else writeBase256(header, 124, 12, entry.size);
  writeOctal(header, 136, 12, entry.mtime ?? 0);
  header.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  header.write(entry.type === "directory" ? "5" : "0", 156, "ascii");
  header.write("ustar\u000000", 257, "ascii");
  header.write("root", 265, "ascii");
  header.write("root", 297, "ascii");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, "ascii");
  return header;
}

/** Zero bytes that pad an entry of `size` bytes to the block boundary. */
export function tarPadding(size: number): Buffer {
  const rest = size % TAR_BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : TAR_BLOCK - rest);
}

/** Two zero blocks end the archive. */
export function tarEnd(): Buffer {
  return Buffer.alloc(TAR_BLOCK * 2);
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  buf.write(`${value.toString(8).padStart(length - 1, "0")}\u0000`, offset, length, "ascii");
}

function writeBase256(buf: Buffer, offset: number, length: number, value: number): void {
  let v = BigInt(value);
  for (let i = offset + length - 1; i > offset; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[offset] = 0x80;
}
