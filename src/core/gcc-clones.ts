// GCC's local copies of a function (`f.isra.0`, `f.constprop.1.cold`, `f.part.0`, `f.lto_priv.0`)
// are still `f` to a reader; `f.body`, a symbol of its own, is not. The tracer's elfsym.c keeps
// the same list.
const SUFFIXES = /^(?:\.(?:isra|constprop|part|cold|lto_priv|localalias|clone)(?:\.\d+)?)*$/;
const TRAILING = /(?:\.(?:isra|constprop|part|cold|lto_priv|localalias|clone)(?:\.\d+)?)+$/;

/** `fn` is `name` itself or one of GCC's copies of it. */
export function isCopyOf(fn: string, name: string): boolean {
  return fn.startsWith(name) && SUFFIXES.test(fn.slice(name.length));
}

/** The function a GCC copy was made from (`f.isra.0` → `f`); other names as they are. */
export function cloneBase(fn: string): string {
  return fn.replace(TRAILING, '');
}
