// Opens the Transport for a host as the user named it: "localhost" (no SSH) or an SSH destination
// ([user@]host[:port] or a ~/.ssh/config alias). The one place the CLI and the editor get a transport.
import { LocalTransport } from './local.ts';
import { resolveTarget } from './ssh-config.ts';
import { SshTransport } from './ssh.ts';
import { ttyPassphrase } from './tty-passphrase.ts';
import type { Transport } from './transport.ts';

export interface OpenOptions {
  /** undefined or "localhost": this machine, no SSH. */
  host?: string;
  /** Another ssh config file instead of ~/.ssh/config. */
  sshConfig?: string;
  /** Record an unknown host key (OpenSSH's accept-new); a changed key is always refused. */
  acceptNewHostKey?: boolean;
  /** Asked when a private key is encrypted; never stored by the transport. Default: a prompt on the
   *  terminal when this process runs interactively (stdin and stderr are TTYs), else none. */
  passphrase?: (keyPath: string) => Promise<string | undefined>;
  /** ms to wait for each SSH hop's handshake and authentication (default 20 s). */
  readyTimeoutMs?: number;
}

export function isLocalHost(host: string | undefined): boolean {
  return host === undefined || host === '' || host === 'localhost';
}

export async function openTransport(opts: OpenOptions = {}): Promise<Transport> {
  if (isLocalHost(opts.host)) return new LocalTransport();
  const host = opts.host!;
  const target = resolveTarget(host, opts.sshConfig !== undefined ? { configPath: opts.sshConfig } : {});
  return SshTransport.connect(host, target, {
    ...(opts.acceptNewHostKey !== undefined ? { acceptNewHostKey: opts.acceptNewHostKey } : {}),
    ...(opts.passphrase ? { passphrase: opts.passphrase } : process.stdin.isTTY && process.stderr.isTTY ? { passphrase: ttyPassphrase } : {}),
    ...(opts.readyTimeoutMs !== undefined ? { readyTimeoutMs: opts.readyTimeoutMs } : {}),
  });
}
