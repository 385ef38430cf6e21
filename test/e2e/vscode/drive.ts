// Drives code-server with playwright-core and Debian's chromium: the extension-host suite (through the
// workbench URL payload, as VS Code's own web integration tests do) and the UI walk-through.
import { chromium, type Browser } from 'playwright-core';
import { format } from 'node:util';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

/**
 * Loads the workbench with extensionDevelopmentPath/extensionTestsPath; the extension host runs the
 * suite's `run()` and reports its end through codeAutomationExit. Resolves with the exit code and
 * everything the suite logged.
 */
export async function runExtensionHostSuite(opts: {
  url: string; devPath: string; testsPath: string; folder: string; timeoutMs: number;
}): Promise<{ code: number; log: string[] }> {
  const host = new URL(opts.url).host;
  const remote = (p: string): string => `vscode-remote://${host}${p}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(opts.devPath)],
    ['extensionTestsPath', remote(opts.testsPath)],
    ['skipWelcome', 'true'],
  ]);
  const browser = await launchBrowser();
  const log: string[] = [];
  try {
    const page = await browser.newPage();
    const done = new Promise<number>((resolve) => {
      void page.exposeFunction('codeAutomationLog', (_type: string, args: unknown[]) => {
        const line = format(...args);
        log.push(line);
        if (process.env.PKTPATH_E2E_VERBOSE) console.log(line);
      });
      void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
    });
    page.on('pageerror', (e) => log.push(`pageerror ${e.message}`));
    // generous: on a loaded shared machine the workbench's first load has taken over 30 s
    await page.goto(`${opts.url}/?folder=${encodeURIComponent(opts.folder)}&payload=${encodeURIComponent(payload)}`, { timeout: 120_000 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        log.push(`TIMEOUT after ${opts.timeoutMs} ms`);
        resolve(124);
      }, opts.timeoutMs);
    });
    const code = await Promise.race([done, timeout]);
    clearTimeout(timer);
    return { code, log };
  } finally {
    await browser.close();
  }
}
