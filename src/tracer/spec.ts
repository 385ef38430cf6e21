// Stage arguments (`--stage NAME=SPEC`) checked before anything runs, by the grammar the tracer
// accepts (native-tracer/spec.c). Names and specs are data: they travel to the tracer as argv
// elements, never through a shell, but they are still held to a strict alphabet so a typo or a
// hostile value is refused here with a message that says what is wrong.
import { MAX_MATCH, MAX_STAGES, type PacketsSpec, type StageKindName } from './protocol.ts';

export interface StageArg {
  name: string;
  spec: string;
  kind: StageKindName;
  packets: PacketsSpec;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const SYMBOL_RE = /^[A-Za-z_][A-Za-z0-9_.@$:]*$/;
const TP_RE = /^[A-Za-z0-9_]+$/;
const OFFSET_RE = /^0x[0-9a-fA-F]+$/;
const MATCH_RE = /:arg(\d)=((?:0x[0-9a-fA-F]+,)*0x[0-9a-fA-F]+)$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

export class SpecError extends Error {}

function packetsOf(s: string, stage: string, allowRet: boolean): PacketsSpec {
  const m = /^packets=(one|ret|arg(\d))$/.exec(s);
  if (!m) throw new SpecError(`stage ${stage}: "${s}" is not packets=one|ret|argN`);
  if (m[1] === 'ret' && !allowRet) throw new SpecError(`stage ${stage}: packets=ret needs a function return (uprobe, kprobe, fentry)`);
  if (m[2] !== undefined && Number(m[2]) > 4) throw new SpecError(`stage ${stage}: packets=${m[1]}: arguments arg0..arg4 can be read`);
  return m[1] as PacketsSpec;
}

/** Parses one `NAME=SPEC`. */
export function parseStageArg(arg: string): StageArg {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new SpecError(`--stage ${JSON.stringify(arg)}: expected NAME=SPEC, e.g. rx=uprobe:/path/fwd:fwd_rx:packets=ret`);
  const name = arg.slice(0, eq);
  const spec = arg.slice(eq + 1);
  if (!NAME_RE.test(name)) {
    throw new SpecError(`stage name ${JSON.stringify(name)}: use letters, digits, _ . - (at most 64, starting with a letter or _)`);
  }
  if (CONTROL_RE.test(spec)) throw new SpecError(`stage ${name}: the spec contains control characters`);
  const bad = (why: string): never => {
    throw new SpecError(`stage ${name}: ${JSON.stringify(spec)}: ${why}`);
  };
  // A uprobe's trailing :argN=0xV,... keeps the calls whose argument N is one of the values (then
  // :packets=... before it belongs to every kind that counts packets, as the tracer reads them).
  let body = spec;
  const match = MATCH_RE.exec(spec);
  if (match) {
    if (!spec.startsWith('uprobe:')) bad(`:arg${match[1]}= picks the calls of uprobe stages only`);
    if (Number(match[1]) > 4) bad(`:arg${match[1]}=: arguments arg0..arg4 can be read`);
    if (match[2]!.split(',').length > MAX_MATCH) bad(`:arg${match[1]}=: at most ${MAX_MATCH} values`);
    body = spec.slice(0, match.index);
  }
  let pk: string | undefined;
  const at = body.indexOf(':packets=');
  if (at >= 0) {
    pk = body.slice(at + 1);
    body = body.slice(0, at);
  }
  const colon = body.indexOf(':');
  const kind = colon < 0 ? body : body.slice(0, colon);
  const rest = colon < 0 ? '' : body.slice(colon + 1);
  switch (kind) {
    case 'uprobe': {
      // uprobe:BINARY:SYMBOL|0xOFFSET — a C++ symbol may itself contain ':'.
      const c = rest.indexOf(':');
      const binary = c < 0 ? '' : rest.slice(0, c);
      const site = c < 0 ? '' : rest.slice(c + 1);
      if (binary === '' || site === '') bad('expected uprobe:BINARY:SYMBOL[:packets=ret|argN][:argN=0xV,...] or uprobe:BINARY:0xOFFSET[:packets=...]');
      if (/^0x/i.test(site)) {
        if (!OFFSET_RE.test(site) || /^0x0*$/i.test(site)) bad(`bad offset "${site}" (0x followed by hex digits, not 0)`);
      } else if (!SYMBOL_RE.test(site)) bad(`"${site}" is not a symbol name`);
      return { name, spec, kind, packets: pk === undefined ? 'one' : packetsOf(pk, name, true) };
    }
    case 'usdt': {
      const parts = rest.split(':');
      if (parts.length !== 3 || parts[0] === '') bad('expected usdt:BINARY:PROVIDER:NAME[:packets=argN]');
      if (!IDENT_RE.test(parts[1]!) || !IDENT_RE.test(parts[2]!)) bad('provider and probe must be identifiers');
      return { name, spec, kind, packets: pk === undefined ? 'one' : packetsOf(pk, name, false) };
    }
    case 'tracepoint': {
      const parts = rest.split(':');
      if (pk !== undefined) bad('tracepoint stages count one packet per event (no packets=)');
      if (parts.length !== 2 || !TP_RE.test(parts[0]!) || !TP_RE.test(parts[1]!)) bad('expected tracepoint:CATEGORY:NAME, e.g. tracepoint:net:netif_receive_skb');
      return { name, spec, kind, packets: 'one' };
    }
    case 'kprobe':
    case 'fentry': {
      if (!IDENT_RE.test(rest)) bad(`expected ${kind}:FUNCTION[:packets=ret|argN]`);
      return { name, spec, kind, packets: pk === undefined ? 'one' : packetsOf(pk, name, true) };
    }
    default:
      return bad('the kind must be uprobe, usdt, tracepoint, kprobe or fentry');
  }
}

/** Parses all stages; names must be unique and there may be at most MAX_STAGES. */
export function parseStageArgs(args: readonly string[]): StageArg[] {
  if (args.length > MAX_STAGES) throw new SpecError(`at most ${MAX_STAGES} stages per recording (got ${args.length})`);
  const out = args.map(parseStageArg);
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.name)) throw new SpecError(`stage name ${s.name} is used twice`);
    seen.add(s.name);
  }
  return out;
}

/** Sampled mode without a stage: one message wherever it is found (the CLI, recordSampled). */
export const SAMPLED_NEEDS_STAGE =
  '--mode sampled needs at least one --stage NAME=uprobe:BINARY:SYMBOL (the functions whose share of the samples is measured); --sample-hz only sets the sampling rate';
