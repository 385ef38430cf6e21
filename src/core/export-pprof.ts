// pprof's profile.proto, gzipped, as `go tool pprof` and most profilers read it. Two sample values:
// samples/count and cpu/nanoseconds (count × 1e9/hz). Every distinct frame is a Location at its
// sampled address, with one Line naming its Function (interned by name and module); every module
// is a Mapping carrying its file name and build id, so pprof can find symbols and sources.
import { gzipSync } from 'node:zlib';
import { Function as PFunction, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { Frame, Session } from './session.ts';

function parseAddr(hex: string): bigint {
  try {
    return /^0x[0-9a-f]+$/i.test(hex) ? BigInt(hex) : 0n;
  } catch {
    return 0n;
  }
}

export function buildPprof(s: Session): Profile {
  const strings = new StringTable();
  const period = s.sample_hz > 0 ? Math.round(1e9 / s.sample_hz) : 1;
  const mappings: Mapping[] = [];
  const mappingOf = new Map<string, number>();
  const functions: PFunction[] = [];
  const functionOf = new Map<string, number>();
  const locations: Location[] = [];
  const locationOf = new Map<number, number>();
  const frames = new Map<number, Frame>();
  for (const f of s.frames) frames.set(f.id, f);

  const mapping = (f: Frame): number => {
    let id = mappingOf.get(f.module);
    if (id === undefined) {
      id = mappings.length + 1;
      mappings.push(
        new Mapping({ id, filename: strings.dedup(f.module), buildId: strings.dedup(f.build_id ?? ''), hasFunctions: true }),
      );
      mappingOf.set(f.module, id);
    }
    return id;
  };
  const func = (name: string, module: string): number => {
    const key = `${module}\u0000${name}`;
    let id = functionOf.get(key);
    if (id === undefined) {
      id = functions.length + 1;
      functions.push(new PFunction({ id, name: strings.dedup(name), systemName: strings.dedup(name), filename: strings.dedup(module) }));
      functionOf.set(key, id);
    }
    return id;
  };
  const location = (frameId: number): number => {
    let id = locationOf.get(frameId);
    if (id === undefined) {
      id = locations.length + 1;
      const f = frames.get(frameId);
      if (f) {
        locations.push(new Location({ id, mappingId: mapping(f), address: parseAddr(f.addr), line: [{ functionId: func(f.fn, f.module), line: 0 }] }));
      } else {
        locations.push(new Location({ id, line: [{ functionId: func(`[unknown frame ${frameId}]`, '[unknown]'), line: 0 }] }));
      }
      locationOf.set(frameId, id);
    }
    return id;
  };

  const samples: Sample[] = [];
  for (const st of s.stacks) {
    if (!(st.count > 0)) continue;
    // pprof wants the leaf first, as the tracer sends them.
    samples.push(new Sample({ locationId: st.frames.map(location), value: [st.count, st.count * period] }));
  }
  const cpu = new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') });
  return new Profile({
    sampleType: [new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }), cpu],
    sample: samples,
    mapping: mappings,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: BigInt(Date.parse(s.created) || 0) * 1_000_000n,
    durationNanos: Math.round(s.duration_s * 1e9),
    periodType: new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    period,
  });
}

/** The gzipped protobuf, ready to write to `*.pb.gz`. */
export function exportPprof(s: Session): Buffer {
  return gzipSync(buildPprof(s).encode());
}
