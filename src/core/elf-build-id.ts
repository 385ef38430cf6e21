// The GNU build-id of an ELF file (the NT_GNU_BUILD_ID note in a PT_NOTE segment): how a binary is
// known whatever its path. One parser, driven over a buffer (the start of a file read on a remote
// host) or over a local file (only the header, program headers and notes are read).
import { open } from 'node:fs/promises';

const PT_NOTE = 4;
const NT_GNU_BUILD_ID = 3;
const MAX_NOTES = 1 << 16; // bytes of one note segment looked at
const MAX_PHDRS = 1 << 20; // bytes of program headers (a damaged header must not ask for gigabytes)

/** The parse, as a coroutine: it yields the [offset, length] it needs next and gets those bytes
 * back (fewer at the end of the input). */
function* parse(): Generator<[number, number], string | null, Buffer> {
  const head = yield [0, 64];
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return null;
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number): number => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  if (is64 && head.length < 64) return null;
  const phoff = is64 ? u64(head, 32) : u32(head, 28);
  const phentsize = u16(head, is64 ? 54 : 42);
  const phnum = u16(head, is64 ? 56 : 44);
  if (phentsize < (is64 ? 56 : 32)) return null;
  const ph = yield [phoff, Math.min(phentsize * phnum, MAX_PHDRS)];
  for (let i = 0; i < phnum && (i + 1) * phentsize <= ph.length; i++) {
    const b = i * phentsize;
    if (u32(ph, b) !== PT_NOTE) continue;
    const off = is64 ? u64(ph, b + 8) : u32(ph, b + 4);
    const size = is64 ? u64(ph, b + 32) : u32(ph, b + 16);
    const notes = yield [off, Math.min(size, MAX_NOTES)];
    for (let p = 0; p + 12 <= notes.length; ) {
      const namesz = u32(notes, p);
      const descsz = u32(notes, p + 4);
      const type = u32(notes, p + 8);
      const desc = p + 12 + ((namesz + 3) & ~3);
      if (desc + descsz > notes.length) break;
      if (type === NT_GNU_BUILD_ID && namesz === 4 && notes.toString('latin1', p + 12, p + 15) === 'GNU') {
        return notes.subarray(desc, desc + descsz).toString('hex');
      }
      p = desc + ((descsz + 3) & ~3);
    }
  }
  return null;
}

/** The build-id (lower-case hex) from the start of an ELF file held in buf, or null when it is not
 * ELF, has no build-id, or the note lies beyond buf. */
export function elfBuildId(buf: Buffer): string | null {
  const it = parse();
  for (let step = it.next(); ; ) {
    if (step.done) return step.value;
    const [off, len] = step.value;
    step = it.next(off < buf.length ? buf.subarray(off, off + len) : Buffer.alloc(0));
  }
}

/** The build-id of the ELF file at path (lower-case hex), or null when it is not ELF or has none. */
export async function readElfBuildId(path: string): Promise<string | null> {
  const fh = await open(path, 'r');
  try {
    const it = parse();
    for (let step = it.next(); ; ) {
      if (step.done) return step.value;
      const [off, len] = step.value;
      const b = Buffer.alloc(len);
      const { bytesRead } = await fh.read(b, 0, len, off);
      step = it.next(b.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
}
