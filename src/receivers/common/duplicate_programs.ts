// Two agents on one host both attach and export every connection twice. A receiver's programs
// have recognisable names (bpf/<type>.bpf.c: tcp_lifecycle_set_state...), so at start it looks
// for programs of the same names that are not its own and warns.
import { KERNEL_PROGRAM_NAME_LENGTH, type LoadedProgram, type ProgramInfo } from '../../bridge/bpf_object';

/** Programs loaded on the host with the name of one of `ours` (as the kernel truncates it) but another id. */
export function programsLikeOurs(ours: readonly ProgramInfo[], loaded: readonly LoadedProgram[]): LoadedProgram[] {
  const ownIds = new Set(ours.map((p) => p.id));
  const names = new Set(ours.map((p) => p.program.slice(0, KERNEL_PROGRAM_NAME_LENGTH)));
  return loaded.filter((p) => !ownIds.has(p.id) && names.has(p.name));
}

export function duplicateProgramsWarning(receiverType: string, others: readonly LoadedProgram[]): string {
  const listed = others.map((p) => `${p.name} (id ${p.id})`).join(', ');
  return (
    `${others.length} BPF program(s) of another ${receiverType} receiver are already loaded: ${listed}. ` +
    `Another tcpscope agent on this host (or a second ${receiverType} receiver in this one) reports the same connections, ` +
    'so backends receive everything twice: run one agent per host (`bpftool prog show id <id> --json` names the process holding it).'
  );
}
