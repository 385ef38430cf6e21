// The one ELF build-id reader, over the start of a file (as read on a remote host) and over a local
// file, against readelf -n.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { elfBuildId, readElfBuildId } from '../../src/core/elf-build-id.ts';

const readelf = (bin: string): string | null =>
  /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', bin], { encoding: 'utf8' }))?.[1] ?? null;

test('from the first 64 KiB and from the file: what readelf -n says', async () => {
  for (const bin of ['/bin/true', '/usr/sbin/sshd', process.execPath]) {
    const want = readelf(bin);
    assert.ok(want, `${bin} has a build-id`);
    assert.equal(elfBuildId(readFileSync(bin).subarray(0, 65536)), want, bin);
    assert.equal(await readElfBuildId(bin), want, bin);
  }
});

test('not ELF, truncated, or without a build-id: null, never a throw', async () => {
  assert.equal(elfBuildId(Buffer.from('#!/bin/sh\n')), null);
  assert.equal(elfBuildId(Buffer.alloc(0)), null);
  assert.equal(elfBuildId(readFileSync('/bin/true').subarray(0, 80)), null);
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-buildid-'));
  try {
    const script = join(dir, 'script');
    writeFileSync(script, '#!/bin/sh\n');
    assert.equal(await readElfBuildId(script), null);
    const cut = join(dir, 'cut');
    writeFileSync(cut, readFileSync('/bin/true').subarray(0, 100));
    assert.equal(await readElfBuildId(cut), null);
    // a header claiming 65535 program headers of 65535 bytes reads at most what is there
    const big = Buffer.from(readFileSync('/bin/true').subarray(0, 4096));
    big.writeUInt16LE(0xffff, 54);
    big.writeUInt16LE(0xffff, 56);
    const damaged = join(dir, 'damaged');
    writeFileSync(damaged, big);
    assert.equal(await readElfBuildId(damaged), null);
    assert.equal(elfBuildId(big), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
