// The probes' own machinery on sampled stacks: the int3 trap of a uprobe, the uretprobe trampoline
// and its syscall, uprobe dispatch and the BPF programs. Those samples are probe cost, not stage
// time: the flamegraphs fold each run of them into one "probe" frame, and the latency flamegraph
// leaves them out of the corrected stage widths.
//
// The names come from stacks recorded on kernel 6.18 (test/fixtures/demo-session.pktpath.json):
//   fwd_rx > asm_exc_int3 > irqentry_exit_to_user_mode > uprobe_notify_resume > handler_chain >
//     uprobe_dispatcher > __uprobe_perf_func > bpf_prog_…_stage_uentry > ktime_get_mono_fast_ns
//   main > [uprobes] 0x7fffffffe00d > entry_SYSCALL_64_after_hwframe > do_syscall_64 >
//     __x64_sys_uretprobe > uprobe_handle_trampoline > uretprobe_dispatcher > …_stage_ureturn
// Recordings made before the sampler put hijacked return addresses back also show [uprobes] as
// the return address of a stage with a pending uretprobe (`[uprobes] > fwd_tx > sendto > …`): that
// one is not probe time.
// plus the names older kernels use for the same steps (handle_swbp, do_int3, exc_int3) and the
// BPF run paths of tracepoint stages (bpf_trace_run*, trace_call_bpf).

const PROBE_FN = new RegExp('^(?:' + [
  'asm_exc_int3', 'exc_int3', 'do_int3', 'do_int3_user', 'handle_swbp', 'handle_singlestep', 'handler_chain',
  'uprobe_\\w+', '__uprobe_\\w+', 'uretprobe_\\w+', 'arch_uprobe_\\w+', 'arch_uretprobe_\\w+', 'find_active_uprobe\\w*',
  'hprobe_\\w+', '__x64_sys_uretprobe', '__ia32_sys_uretprobe', '__do_sys_uretprobe', 'sys_uretprobe',
  'bpf_prog_\\w+', 'bpf_trampoline_\\w+', '__bpf_prog_enter\\w*', '__bpf_prog_exit\\w*', 'bpf_trace_run\\d+',
  '__bpf_trace_\\w+', 'trace_call_bpf', 'perf_trace_run_bpf_submit', 'push_emulate_op', 'emulate_push_stack',
].join('|') + ')(?:\\.\\w+(?:\\.\\d+)?)?$');

/** Kernel entry glue that belongs to the probe when it leads straight into one (the uretprobe syscall). */
const ENTRY_GLUE = /^(?:entry_SYSCALL_64\w*|do_syscall_64|entry_SYSCALL_compat\w*|do_fast_syscall_32)$/;

export interface FrameName {
  fn: string;
  module: string;
}

/** Syscall entry glue (probe cost when it leads into a probe frame). */
export function isEntryGlue(f: FrameName): boolean {
  return ENTRY_GLUE.test(f.fn);
}

/** A frame of the probes' own machinery. */
export function isProbeFrame(f: FrameName): boolean {
  return f.module === '[uprobes]' || PROBE_FN.test(f.fn);
}

/**
 * Where the probe machinery starts in a stack (frames leaf first): the index of its outermost
 * frame, after the syscall entry glue and the [uprobes] trampoline page that lead into it, or -1.
 * Everything from there to the leaf is probe.
 */
export function probeStart(frames: readonly FrameName[]): number {
  return probeStartBy(frames.length, (i) => isProbeFrame(frames[i]!), (i) => frames[i]!.module === '[uprobes]' || isEntryGlue(frames[i]!));
}

/** probeStart over any stack representation: `probe(i)` / `glue(i)` classify the frame at i (leaf = 0). */
export function probeStartBy(n: number, probe: (i: number) => boolean, glue: (i: number) => boolean): number {
  let outer = -1;
  for (let i = n - 1; i >= 0; i--) {
    // A trampoline frame (probe and glue: [uprobes]) leading into plain code is a return address
    // a pending uretprobe replaced, as an unwinder reads it from the stack: the frames inside it are
    // the stage's own work, not the probe's.
    if (probe(i) && glue(i) && i > 0 && !probe(i - 1) && !glue(i - 1)) continue;
    if (probe(i)) {
      outer = i;
      break;
    }
  }
  if (outer < 0) return -1;
  while (outer + 1 < n && glue(outer + 1)) outer++;
  return outer;
}

/** The folded frame's name in the flamegraphs. */
export const PROBE_FRAME_NAME = 'probe (int3 trap, uprobe dispatch, BPF programs)';
