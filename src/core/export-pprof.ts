// pprof's profile.proto, gzipped, as `go tool pprof` and most profilers read it. Two sample values:
// samples/count and cpu/nanoseconds (count × 1e9/hz). Every distinct frame is a Location at its
// sampled address, with one Line naming its Function (interned by name and module); every module
// is a Mapping carrying its file name and build id, so pprof can find symbols and sources.
import { gzipSync } from 'node:zlib';
import { Function as PFunction, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { Frame, Session, StackSample } from './session.ts';

function parseAddr(hex: string): bigint {
  return /^0x[0-9a-f]{1,16}$/i.test(hex) ? BigInt(hex) : 0n;
}

/** A profile's tables (mappings, functions, locations, strings), filled as samples name frames. */
export class PprofTables {
  readonly strings = new StringTable();
  readonly period: number;
  private readonly mappings: Mapping[] = [];
  private readonly mappingOf = new Map<string, number>();
  private readonly functions: PFunction[] = [];
  private readonly functionOf = new Map<string, number>();
  private readonly locations: Location[] = [];
  private readonly locationOf = new Map<number, number>();
  private readonly frames = new Map<number, Frame>();

  constructor(private readonly s: Session) {
    this.period = s.sample_hz > 0 ? Math.round(1e9 / s.sample_hz) : 1;
    for (const f of s.frames) this.frames.set(f.id, f);
  }

  private mapping(f: Frame): number {
    let id = this.mappingOf.get(f.module);
    if (id === undefined) {
      id = this.mappings.length + 1;
      this.mappings.push(new Mapping({ id, filename: this.strings.dedup(f.module), buildId: this.strings.dedup(f.build_id ?? ''), hasFunctions: true }));
      this.mappingOf.set(f.module, id);
    }
    return id;
  }

  private func(name: string, module: string): number {
    const key = `${module}\u0000${name}`;
    let id = this.functionOf.get(key);
    if (id === undefined) {
      id = this.functions.length + 1;
      const n = this.strings.dedup(name);
      this.functions.push(new PFunction({ id, name: n, systemName: n, filename: this.strings.dedup(module) }));
      this.functionOf.set(key, id);
    }
    return id;
  }

  location(frameId: number): number {
    let id = this.locationOf.get(frameId);
    if (id === undefined) {
      id = this.locations.length + 1;
      const f = this.frames.get(frameId);
      this.locations.push(
        f
          ? new Location({ id, mappingId: this.mapping(f), address: parseAddr(f.addr), line: [{ functionId: this.func(f.fn, f.module), line: 0 }] })
          : new Location({ id, line: [{ functionId: this.func(`[unknown frame ${frameId}]`, '[unknown]'), line: 0 }] }),
      );
      this.locationOf.set(frameId, id);
    }
    return id;
  }

  /** One stack's sample; pprof wants the leaf first, as the tracer sends them. */
  sample(st: StackSample): Sample {
    return new Sample({ locationId: st.frames.map((id) => this.location(id)), value: [st.count, st.count * this.period] });
  }

  /** The profile with these tables and the given samples. */
  profile(samples: Sample[]): Profile {
    const strings = this.strings;
    const cpu = new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') });
    return new Profile({
      sampleType: [new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }), cpu],
      sample: samples,
      mapping: this.mappings,
      location: this.locations,
      function: this.functions,
      stringTable: strings,
      timeNanos: BigInt(Date.parse(this.s.created) || 0) * 1_000_000n,
      durationNanos: Math.round(this.s.duration_s * 1e9),
      periodType: new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
      period: this.period,
    });
  }
}

export function buildPprof(s: Session): Profile {
  const t = new PprofTables(s);
  const samples: Sample[] = [];
  for (const st of s.stacks) if (st.count > 0) samples.push(t.sample(st));
  return t.profile(samples);
}

/** The gzipped protobuf, ready to write to `*.pb.gz`. */
export function exportPprof(s: Session): Buffer {
  return gzipSync(buildPprof(s).encode());
}
