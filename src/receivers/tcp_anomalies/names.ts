// Attribute values of the numbers the kernel program reports: TCP states, retransmission kinds
// and triggers, buffer pressure kinds. Reasons are named from the kernel's BTF (kernel_reasons.ts).
import { CONSTANTS as C } from './layout';

/** enum tcp_state → the semantic conventions' network.connection.state values. */
const TCP_STATES: readonly (string | undefined)[] = [
  undefined,
  'established',
  'syn_sent',
  'syn_received',
  'fin_wait_1',
  'fin_wait_2',
  'time_wait',
  'closed',
  'close_wait',
  'last_ack',
  'listen',
  'closing',
  'syn_received', // TCP_NEW_SYN_RECV: a request socket
];

export function tcpStateName(state: number): string | undefined {
  return TCP_STATES[state];
}

const RETRANSMIT_KINDS: Readonly<Record<number, string>> = {
  [C.TCP_ANOMALIES_RETRANSMIT_DATA]: 'data',
  [C.TCP_ANOMALIES_RETRANSMIT_SYN]: 'syn',
  [C.TCP_ANOMALIES_RETRANSMIT_SYNACK]: 'synack',
};

const TRIGGERS: Readonly<Record<number, string>> = {
  [C.TCP_ANOMALIES_TRIGGER_OTHER]: 'other',
  [C.TCP_ANOMALIES_TRIGGER_RTO]: 'rto',
  [C.TCP_ANOMALIES_TRIGGER_TLP]: 'tlp',
  [C.TCP_ANOMALIES_TRIGGER_RECOVERY]: 'recovery',
};

/** tcp.retransmit.kind and tcp.retransmit.trigger of a retransmission's reason, (what << 8) | trigger. */
export function retransmitNames(reason: number): { readonly kind: string; readonly trigger: string } {
  return { kind: RETRANSMIT_KINDS[reason >>> 8] ?? 'data', trigger: TRIGGERS[reason & 0xff] ?? 'other' };
}

/** tcp.buffer.pressure.kind of a buffer series. */
export function bufferPressureName(kind: number, reason: number): string {
  if (kind === C.TCP_ANOMALIES_RCVQUEUE_FULL) return 'receive_queue_full';
  return reason === 1 ? 'memory_limit_receive' : 'memory_limit_send';
}
