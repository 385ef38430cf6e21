// speedscope's file format (https://www.speedscope.app/file-format-schema.json): one "sampled"
// profile whose samples are root-first frame index lists with weights. With a known sampling rate
// each sample weighs 1e9/hz nanoseconds of CPU (unit "nanoseconds"); without one, weights are
// sample counts (unit "none").
import type { Session } from './session.ts';
import { buildStackTree, walkPaths } from './stacktree.ts';

export interface SpeedscopeFile {
  $schema: 'https://www.speedscope.app/file-format-schema.json';
  shared: { frames: Array<{ name: string; file?: string }> };
  profiles: Array<{
    type: 'sampled';
    name: string;
    unit: 'nanoseconds' | 'none';
    startValue: number;
    endValue: number;
    samples: number[][];
    weights: number[];
  }>;
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

export function exportSpeedscope(s: Session, name = 'pktpath'): SpeedscopeFile {
  const tree = buildStackTree(s.frames, s.stacks);
  const perSample = s.sample_hz > 0 ? 1e9 / s.sample_hz : 1;
  const samples: number[][] = [];
  const weights: number[] = [];
  let end = 0;
  for (const { path, count } of walkPaths(tree)) {
    samples.push(path);
    const w = count * perSample;
    weights.push(w);
    end += w;
  }
  const who = s.target.kernel ? 'kernel' : `pid ${s.target.pid ?? '?'}`;
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    shared: { frames: tree.functions.map((f) => ({ name: f.name, file: f.module })) },
    profiles: [
      {
        type: 'sampled',
        name: `${name}: ${who} on ${s.target.host}, ${s.samples} samples`,
        unit: s.sample_hz > 0 ? 'nanoseconds' : 'none',
        startValue: 0,
        endValue: end,
        samples,
        weights,
      },
    ],
    name,
    activeProfileIndex: 0,
    exporter: 'pktpath',
  };
}
