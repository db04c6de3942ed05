// The kernel's reasons, named as the kernel names them: enum sk_rst_reason (why a reset was sent,
// 6.10+) and enum skb_drop_reason (why a packet was dropped, 5.17+), read from the running
// kernel's BTF because their numbering changes between versions. Names are the enumerator without
// its prefix, as the kernel's own tracepoints print them (`NO_SOCKET`, `TCP_ABORT_ON_LINGER`,
// `TCP_ZEROWINDOW`): what `perf trace` and the kernel documentation show. A reason the kernel
// cannot give is `unknown`.
import type { KernelBtf } from '../../host/kernel_btf';
import { CONSTANTS } from './layout';

export const UNKNOWN_REASON = 'unknown';

const RESET_PREFIX = 'SK_RST_REASON_';
const DROP_PREFIX = 'SKB_DROP_REASON_';

/**
 * Drop reasons of any protocol that TCP packets meet (counted when the socket or the IP header says
 * TCP); every `TCP_*` reason is counted too. NOT_SPECIFIED (no reason given: too common and says
 * nothing) and QUEUE_PURGE (queues emptied at close: cleanup, not loss) are left out.
 */
export const GENERIC_DROP_REASONS: readonly string[] = [
  'NO_SOCKET',
  'SOCKET_CLOSE',
  'SOCKET_FILTER',
  'SOCKET_RCVBUFF',
  'SOCKET_BACKLOG',
  'PROTO_MEM',
  'NETFILTER_DROP',
  'QDISC_DROP',
  'QDISC_OVERLIMIT',
  'CPU_BACKLOG',
  'TC_EGRESS',
  'TC_INGRESS',
];

export interface KernelReasons {
  /** Whether tcp_send_reset carries enum sk_rst_reason on this kernel. */
  readonly resetReasons: boolean;
  /** Whether skb:kfree_skb carries enum skb_drop_reason on this kernel (else drops are not counted). */
  readonly dropReasons: boolean;
  /** Whether skb:kfree_skb passes the receiving socket (rx_sk, 6.11+). */
  readonly kfreeSkbRxSk: boolean;
  /** cfg_drop_reasons: one TCP_ANOMALIES_DROP_* byte per reason value. */
  readonly dropReasonTable: Buffer;
  resetReasonName(value: number): string;
  dropReasonName(value: number): string;
  /** For the start-up log. */
  describe(): string;
}

function stripped(values: Map<number, string> | undefined, prefix: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const [value, name] of values ?? []) if (name.startsWith(prefix)) names.set(value, name.slice(prefix.length));
  return names;
}

/** The reasons of the kernel whose BTF is `btf` (undefined: no BTF, nothing is named). */
export function kernelReasons(btf: KernelBtf | undefined): KernelReasons {
  const resetValues = btf?.enumValues('sk_rst_reason');
  const dropValues = btf?.enumValues('skb_drop_reason');
  const kfreeArguments = btf?.tracepointArguments('kfree_skb') ?? 0;
  const resets = stripped(resetValues, RESET_PREFIX);
  const drops = stripped(dropValues, DROP_PREFIX);
  const table = Buffer.alloc(CONSTANTS.TCP_ANOMALIES_DROP_REASON_SLOTS);
  const generic = new Set(GENERIC_DROP_REASONS);
  let tcpReasons = 0;
  for (const [value, name] of drops) {
    if (value >= table.length) continue;
    if (name.startsWith('TCP_')) {
      table[value] = CONSTANTS.TCP_ANOMALIES_DROP_TCP;
      tcpReasons++;
    } else if (generic.has(name)) {
      table[value] = CONSTANTS.TCP_ANOMALIES_DROP_GENERIC;
      tcpReasons++;
    }
  }
  const resetReasons = resets.size > 0;
  const dropReasons = drops.size > 0 && kfreeArguments >= 3;
  const kfreeSkbRxSk = kfreeArguments >= 4;
  return {
    resetReasons,
    dropReasons,
    kfreeSkbRxSk,
    dropReasonTable: table,
    resetReasonName: (value) => (value === CONSTANTS.TCP_ANOMALIES_REASON_UNKNOWN ? UNKNOWN_REASON : (resets.get(value) ?? UNKNOWN_REASON)),
    dropReasonName: (value) => drops.get(value) ?? UNKNOWN_REASON,
    describe: () =>
      [
        resetReasons ? `reset reasons: ${resets.size} (enum sk_rst_reason)` : 'reset reasons: unavailable (kernel before 6.10: tcp.reset.reason is unknown)',
        dropReasons
          ? `drop reasons: ${tcpReasons} TCP-related of ${drops.size} (enum skb_drop_reason), drops ${kfreeSkbRxSk ? 'attributed to the receiving socket' : 'attributed only to sending sockets (kernel before 6.11: no rx_sk)'}`
          : 'drop reasons: unavailable (kernel before 5.17): system.network.tcp.drops is not reported',
      ].join('; '),
  };
}
