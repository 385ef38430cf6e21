// Function symbols of an ELF file (.symtab, else .dynsym), read from a buffer: what sampled mode
// needs to turn `uprobe:BIN:0xADDR` into the address range of the function that holds ADDR, the
// same choice the tracer makes (native-tracer/elfsym.c, elf_containing_function).
import { isCopyOf } from './gcc-clones.ts';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STB_LOCAL = 0;
const SHN_UNDEF = 0;

export interface ElfFunction {
  name: string;
  start: number; // ELF virtual address (st_value)
  size: number; // st_size; 0: unknown
  global: boolean;
}

export class ElfError extends Error {}

interface Section { type: number; offset: number; size: number; link: number; entsize: number }

/** The defined function symbols of one symbol table type, in table order. */
function functionsOf(buf: Buffer, want: number): ElfFunction[] {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new ElfError('not an ELF file');
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number): number => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const word = (o: number): number => (is64 ? u64(o) : u32(o));
  const shoff = is64 ? u64(40) : u32(32);
  const shentsize = u16(is64 ? 58 : 46);
  const shnum = u16(is64 ? 60 : 48);
  if (shoff === 0 || shentsize < (is64 ? 64 : 40)) return [];
  const sections: Section[] = [];
  for (let i = 0; i < shnum && shoff + (i + 1) * shentsize <= buf.length; i++) {
    const b = shoff + i * shentsize;
    sections.push({
      type: u32(b + 4),
      offset: is64 ? u64(b + 24) : u32(b + 16),
      size: is64 ? u64(b + 32) : u32(b + 20),
      link: u32(is64 ? b + 40 : b + 24),
      entsize: is64 ? u64(b + 56) : u32(b + 36),
    });
  }
  const out: ElfFunction[] = [];
  for (const sh of sections) {
    if (sh.type !== want || sh.entsize === 0) continue;
    const strtab = sections[sh.link];
    if (!strtab) continue;
    const n = Math.floor(sh.size / sh.entsize);
    for (let i = 0; i < n; i++) {
      const b = sh.offset + i * sh.entsize;
      if (b + (is64 ? 24 : 16) > buf.length) break;
      const nameOff = u32(b);
      const info = is64 ? buf[b + 4]! : buf[b + 12]!;
      const shndx = is64 ? u16(b + 6) : u16(b + 14);
      const value = is64 ? word(b + 8) : u32(b + 4);
      const size = is64 ? word(b + 16) : u32(b + 8);
      const type = info & 0xf;
      if ((type !== STT_FUNC && type !== STT_GNU_IFUNC) || shndx === SHN_UNDEF || !value) continue;
      const s = strtab.offset + nameOff;
      const end = buf.indexOf(0, s);
      if (s >= buf.length || end < 0) continue;
      out.push({ name: buf.toString('utf8', s, end), start: value, size, global: info >> 4 !== STB_LOCAL });
    }
  }
  return out;
}

/** Function symbols of .symtab, or of .dynsym when the file has no .symtab (stripped). */
export function elfFunctions(buf: Buffer): ElfFunction[] {
  const st = functionsOf(buf, SHT_SYMTAB);
  return st.length ? st : functionsOf(buf, SHT_DYNSYM);
}

/** The function covering vaddr: the one starting closest below it, a global alias before a local one
 * (as the tracer chooses); a sizeless symbol only at its own address. Null when none covers it. */
export function containingFunction(fns: readonly ElfFunction[], vaddr: number): ElfFunction | null {
  let best: ElfFunction | null = null;
  for (const f of fns) {
    if (f.start > vaddr || (f.size ? vaddr - f.start >= f.size : f.start !== vaddr)) continue;
    if (best && (f.start < best.start || (f.start === best.start && (best.global || !f.global)))) continue;
    best = f;
  }
  return best;
}

/** GCC's local copies of `name` (`name.isra.0`, `.constprop.N`, `.part.N`, `.cold`, and the like),
 * and `name` itself, with every same-named local symbol. */
export function copiesOf(fns: readonly ElfFunction[], name: string): ElfFunction[] {
  const seen = new Set<string>();
  const out: ElfFunction[] = [];
  for (const f of fns) {
    if (!isCopyOf(f.name, name)) continue;
    const key = `${f.name}@${f.start}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  return out;
}
