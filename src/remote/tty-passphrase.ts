// Asks for a key's passphrase on the controlling terminal with echo off, as ssh does. Returns
// undefined when there is no terminal (the editor passes its own prompt instead). The answer is
// handed straight to ssh2 and never written anywhere.
import { openSync, closeSync } from 'node:fs';
import { isatty, ReadStream, WriteStream } from 'node:tty';

export async function ttyPassphrase(keyPath: string): Promise<string | undefined> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return undefined;
  }
  if (!isatty(fd)) {
    closeSync(fd);
    return undefined;
  }
  const input = new ReadStream(fd);
  const output = new WriteStream(fd);
  output.write(`Enter passphrase for key '${keyPath}': `);
  input.setRawMode(true);
  try {
    return await new Promise<string | undefined>((resolve) => {
      let s = '';
      input.on('data', (b: Buffer | string) => {
        for (const ch of b.toString()) {
          if (ch === '\r' || ch === '\n') return resolve(s);
          if (ch === '\u0003' || ch === '\u0004') return resolve(undefined); // Ctrl-C / Ctrl-D
          if (ch === '\u007f' || ch === '\b') s = s.slice(0, -1);
          else s += ch;
        }
      });
    });
  } finally {
    input.setRawMode(false);
    output.write('\n');
    input.destroy();
  }
}
