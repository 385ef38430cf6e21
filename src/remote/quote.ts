// The one function that turns an argv into a command line for a remote POSIX sh. SSH has no argv:
// the server hands one string to the user's login shell, so every remote command goes through here.
//
// Every word is single-quoted. Inside single quotes sh interprets nothing ($, `, \, ", newlines,
// globs, ~ are literal); the only character that cannot appear is the quote itself, which becomes
// '\'' (close, escaped quote, reopen). An empty word becomes '' so it stays an argument.
// A word starting with '-' needs nothing here: quoting cannot stop the *program* from reading it
// as an option; callers put '--' before operands where the program supports it.
// NUL cannot be passed through exec at all, so it is refused rather than silently truncated.

export function quoteWord(word: string): string {
  if (word.includes('\0')) throw new Error(`cannot pass a NUL byte in a remote argument: ${JSON.stringify(word)}`);
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function checkEnvName(k: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name: ${JSON.stringify(k)}`);
}

/** argv → one sh command line; env becomes sh's own `NAME='value'` prefix (names are validated). */
export function shellCommand(argv: readonly string[], env?: Record<string, string>): string {
  if (argv.length === 0) throw new Error('shellCommand: empty argv');
  const assigns = Object.entries(env ?? {}).map(([k, v]) => {
    checkEnvName(k);
    return `${k}=${quoteWord(v)}`;
  });
  return [...assigns, ...argv.map(quoteWord)].join(' ');
}

/** argv run through env(1) with assignments, for when a prefix would not survive (sudo drops it).
 *  env would take a program name containing '=' for one more assignment, so that is refused. */
export function envArgv(argv: readonly string[], env: Record<string, string>): string[] {
  if (argv.length === 0) throw new Error('envArgv: empty argv');
  if (argv[0]!.includes('=')) throw new Error(`program name must not contain '=': ${JSON.stringify(argv[0])}`);
  const assigns = Object.entries(env).map(([k, v]) => {
    checkEnvName(k);
    return `${k}=${v}`;
  });
  return ['env', ...assigns, ...argv];
}
