// The bench's view of d3-flame-graph 5 (the package ships no types): only what it calls.
declare module 'd3-flame-graph' {
  interface FlameGraph {
    <S>(selection: S): void; // called by d3's selection.call(chart)
    width(w: number): FlameGraph;
    transitionDuration(ms: number): FlameGraph;
    zoomTo(node: unknown): void;
  }
  export default function flamegraph(): FlameGraph;
}
