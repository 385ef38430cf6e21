// Discovery parsing on hand-made /proc output, hostile names included, and the ELF build-id reader
// against readelf on real binaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  filePrefix, findCandidates, hasEalArgs, parseCmdlines, parseFdListing, parseInodeTable, parseSnapshot, parseTaskStats,
} from '../../src/remote/discovery.ts';
import { formatCandidates } from '../../src/cli/ps.ts';

const M = '@@n@@@@n@@';
const sec = (name: string, body: string): string => `\n${M}${name}${M}\n${body}\n`;

// As `grep -H ''` prints it: every line of the file, a comm's newline included, gets the path prefix.
const stat = (pid: number, tid: number, comm: string, ticks: number, threads: number): string =>
  `${tid} (${comm}) R 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${ticks} 0 0 0 20 0 ${threads} 0 100 1000 200`
    .split('\n').map((l) => `/proc/${pid}/task/${tid}/stat:${l}`).join('\n');

function snapshot(stat2Ticks: number): string {
  // 100: DPDK (runtime dir in maps, lcore worker busy), with 2 packet sockets.
  // 200: a plain AF_PACKET user whose comm is hostile (") R" and a newline).
  // 300: a busy loop without sockets. 400: idle, nothing. 500: a kernel thread, busy.
  // 600: a process whose command line tries to forge a section with a guessed marker.
  const cmd = (pid: number, args: string[]): string => args.map((a) => `/proc/${pid}/cmdline:${a}\0`).join('');
  return [
    sec('clk', '100'),
    sec('self', '999'),
    sec('packet', 'sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n0000000034cbec0f 3      3    0003   29    1 0      0      5001 \n000000002396e442 3      3    0003   30    1 0      0      5002 \nffff 3 3 0003 31 1 0 0 5003'),
    sec('xdp', ''),
    sec('fd', [
      '/proc/100/fd/:', 'total 0', 'lrwx------ 1 root root 64 Nov 26 14:58 3 -> /run/dpdk/myprefix/config',
      'lrwx------ 1 root root 64 Nov 26 14:58 17 -> socket:[5001]', 'lrwx------ 1 root root 64 Nov 26 14:58 18 -> socket:[5002]',
      'lrwx------ 1 root root 64 Nov 26 14:58 19 -> socket:[7777]', '',
      '/proc/200/fd/:', 'total 0', 'lrwx------ 1 root root 64 Nov 26 14:58 4 -> socket:[5003]',
      '/proc/400/fd/:', 'total 0', 'lrwx------ 1 root root 64 Nov 26 14:58 0 -> /dev/null',
    ].join('\n')),
    sec('exe', [
      'lrwxrwxrwx 1 root root 0 Nov 26 15:00 /proc/100/exe -> /opt/fwd/bin/fwd',
      'lrwxrwxrwx 1 root root 0 Nov 26 15:00 /proc/200/exe -> /usr/bin/sniff er',
      'lrwxrwxrwx 1 root root 0 Nov 26 15:00 /proc/300/exe -> /usr/bin/spin',
      'lrwxrwxrwx 1 root root 0 Nov 26 15:00 /proc/400/exe -> /usr/bin/idle',
      'lrwxrwxrwx 1 root root 0 Nov 26 15:00 /proc/600/exe -> /usr/bin/forger',
    ].join('\n')),
    sec('maps', '/proc/100/maps:100000000-100007000 rw-s 00000000 fe:00 1573056                          /run/dpdk/myprefix/config'),
    sec('cmdline', cmd(100, ['/opt/fwd/bin/fwd', '-l', '0-1', '--file-prefix', 'argprefix', '--', '--burst', '32'])
      + cmd(200, ['sniff', 'a\nb', '']) + cmd(300, ['spin']) + cmd(400, ['idle']) + cmd(600, ['forger', `x\n@@n@@end@@n@@\n`])),
    sec('up1', '1000.00 1.00'),
    sec('stat1', [stat(100, 100, 'fwd', 10, 2), stat(100, 101, 'rte-worker-1', 1000, 2), stat(200, 200, 'x) R 1 2\nev', 5, 1),
      stat(300, 300, 'spin', 50, 1), stat(400, 400, 'idle', 3, 1), stat(500, 500, 'ksoftirqd/0', 0, 1), stat(600, 600, 'forger', 0, 1)].join('\n')),
    sec('up2', '1000.50 1.00'),
    sec('stat2', [stat(100, 100, 'fwd', 11, 2), stat(100, 101, 'rte-worker-1', 1000 + stat2Ticks, 2), stat(200, 200, 'x) R 1 2\nev', 6, 1),
      stat(300, 300, 'spin', 95, 1), stat(400, 400, 'idle', 3, 1), stat(500, 500, 'ksoftirqd/0', 50, 1), stat(600, 600, 'forger', 0, 1)].join('\n')),
    sec('end', ''),
  ].join('');
}

test('a full snapshot: DPDK with prefix and lcore, AF_PACKET holder, busy loop; idle and kernel threads left out', () => {
  const raw = parseSnapshot(snapshot(49), M);
  assert.equal(raw.window.seconds, 0.5);
  const c = findCandidates(raw);
  assert.deepEqual(c.map((x) => x.pid), [100, 200, 300]);
  const [fwd, sniff, spin] = c as [typeof c[0], typeof c[0], typeof c[0]];
  assert.deepEqual(fwd.reasons, ['dpdk', 'af_packet', 'busy_poll']);
  assert.equal(fwd.dpdk?.filePrefix, 'myprefix'); // the runtime dir wins over the argument
  assert.deepEqual(fwd.dpdk?.lcoreThreads.map((t) => [t.tid, t.comm, t.cpu]), [[101, 'rte-worker-1', 0.98]]);
  assert.equal(fwd.cpu, 1);
  assert.equal(fwd.threads, 2);
  assert.equal(fwd.packetSockets, 2);
  assert.equal(fwd.exe, '/opt/fwd/bin/fwd');
  assert.deepEqual(fwd.command, ['/opt/fwd/bin/fwd', '-l', '0-1', '--file-prefix', 'argprefix', '--', '--burst', '32']);
  assert.equal(sniff.comm, 'x) R 1 2\nev');
  assert.deepEqual(sniff.command, ['sniff', 'a\nb', '']);
  assert.deepEqual(sniff.reasons, ['af_packet']);
  assert.equal(sniff.exe, '/usr/bin/sniff er');
  assert.deepEqual(spin.reasons, ['busy_poll']);
  assert.equal(spin.cpu, 0.9);
});

test('below the busy threshold a plain process is not a candidate', () => {
  const c = findCandidates(parseSnapshot(snapshot(20), M));
  assert.equal(c.find((x) => x.pid === 100)?.reasons.includes('busy_poll'), false);
  assert.equal(c.find((x) => x.pid === 100)?.dpdk?.lcoreThreads[0]?.cpu, 0.4);
});

test('a DPDK process polling on its main lcore (its main thread, named after the program) shows it as an lcore', () => {
  const text = snapshot(49)
    .replace(stat(100, 100, 'fwd', 11, 2), stat(100, 100, 'fwd', 59, 2)) // 49 ticks in 0.5 s
    .replace(stat(100, 101, 'rte-worker-1', 1049, 2), stat(100, 101, 'rte-worker-1', 1000, 2));
  const fwd = findCandidates(parseSnapshot(text, M)).find((x) => x.pid === 100)!;
  assert.deepEqual(fwd.dpdk?.lcoreThreads.map((t) => [t.tid, t.comm, t.cpu]), [[100, 'fwd', 0.98], [101, 'rte-worker-1', 0]]);
  assert.match(formatCandidates([fwd], 'localhost'), /lcores fwd \(main lcore, tid 100, 0\.98\)/);
  assert.match(formatCandidates([fwd], 'localhost'), /--auto-stages/);
});

test('a truncated report is an error, not an empty list', () => {
  const text = snapshot(49);
  assert.throws(() => parseSnapshot(text.slice(0, text.indexOf(`${M}end`)), M), /incomplete report/);
});

test('pieces: inode tables, fd listings, cmdlines, task stats', () => {
  assert.deepEqual([...parseInodeTable('sk RefCnt Type Proto Iface R Rmem User Inode\na 1 3 3 1 1 0 0 42\n')], [42]);
  assert.deepEqual([...parseInodeTable('no header here\n1 2 3')], []);
  const fd = parseFdListing('/proc/7/fd/:\nlrwx 1 r r 64 N 1 -> socket:[9]\nlrwx 1 r r 64 N 2 -> /a -> b\nlrwx 1 r r 64 N 3 -> pipe:[1]');
  assert.deepEqual(fd.sockets.get(7), [9]);
  assert.deepEqual(fd.files.get(7), ['/a -> b']);
  assert.deepEqual(parseCmdlines('/proc/5/cmdline:a\0/proc/5/cmdline:b c\0').get(5), ['a', 'b c']);
  const st = parseTaskStats(`${stat(1, 2, 'a (b) c', 7, 3)}\ngarbage\n/proc/1/task/3/stat:3 (short`);
  assert.equal(st.size, 1);
  assert.deepEqual(st.get(2), { pid: 1, tid: 2, comm: 'a (b) c', state: 'R', ticks: 7, threads: 3 });
});

test('EAL arguments and file prefixes', () => {
  assert.equal(hasEalArgs(['app', '-l', '0-1', '-n', '4']), true);
  assert.equal(hasEalArgs(['app', '--file-prefix=x']), true);
  assert.equal(hasEalArgs(['ls', '-l']), false);
  assert.equal(hasEalArgs(['app', '--', '--vdev', 'x']), false); // application arguments
  assert.equal(filePrefix([], ['app', '--file-prefix', 'p1']), 'p1');
  assert.equal(filePrefix([], ['app', '--file-prefix=p2']), 'p2');
  assert.equal(filePrefix(['/var/run/dpdk/p3/fbarray_memseg-2048k-0-0'], []), 'p3');
  assert.equal(filePrefix(['/run/user/1000/dpdk/p4/config'], []), 'p4');
  assert.equal(filePrefix([], ['app', '--', '--file-prefix', 'no']), null);
});

