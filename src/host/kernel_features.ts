// What the running kernel offers the receivers' programs, probed from its BTF before anything is
// loaded, and what each receiver does without what it lacks. A kernel feature a receiver can do
// without is turned off before load (a `const volatile` switch of bpf/kernel_features.h, or a
// program left unloaded), with ONE start-up line saying what is missing and what the user loses;
// a feature it cannot do without stops the receiver with an error naming it. The versions are
// mainline's; Debian's kernels of each line were checked (docs/kernel-features.md).
//
// How each feature is recognised in BTF:
//  - a tracepoint: its `btf_trace_<name>` typedef (what libbpf resolves a tp_btf program against);
//  - a helper allowed in tracing programs: a function the kernel gained with that permission
//    (a missing FUNC can also mean the compiler inlined it: the agent then does without a feature
//    the kernel has, never the other way round). libbpf_probe_bpf_helper() cannot answer this:
//    it returns -EOPNOTSUPP for BPF_PROG_TYPE_TRACING (a tp_btf program needs an attach target);
//  - a tracepoint's record layout: its `trace_event_raw_<name>` struct.
import { BpfLoadError } from '../errors';
import { KernelBtf } from './kernel_btf';

export type KernelFeatureId =
  | 'ring_buffer'
  | 'socket_storage'
  | 'socket_cookie'
  | 'inet_sock_set_state'
  | 'tcp_probe'
  | 'tcp_retransmit_skb'
  | 'tcp_retransmit_synack'
  | 'tcp_send_reset'
  | 'tcp_send_reset_record'
  | 'tcp_receive_reset'
  | 'tcp_destroy_sock'
  | 'inet_sk_error_report'
  | 'sock_rcvqueue_full'
  | 'sock_exceed_buf_limit'
  | 'kfree_skb_reason';

interface FeatureDefinition {
  /** What the kernel lacks, as a start-up line names it. */
  readonly what: string;
  /** The mainline version that brought it. */
  readonly since: string;
  readonly probe: (btf: KernelBtf) => boolean;
}

const tracepoint = (name: string, category: string, since: string): FeatureDefinition => ({
  what: `tracepoint ${category}:${name}`,
  since,
  probe: (btf) => btf.tracepointArguments(name) !== undefined,
});

export const KERNEL_FEATURES: Readonly<Record<KernelFeatureId, FeatureDefinition>> = {
  ring_buffer: { what: 'BPF ring buffers', since: '5.8', probe: (btf) => btf.hasStruct('bpf_ringbuf') },
  // net/core/bpf_sk_storage.c gained bpf_sk_storage_tracing_allowed() with the permission (5.11).
  socket_storage: {
    what: 'bpf_sk_storage_get() in tracing programs',
    since: '5.11',
    probe: (btf) => btf.hasFunction('bpf_sk_storage_tracing_allowed'),
  },
  // bpf_get_socket_ptr_cookie is the tracing programs' variant of the helper (5.12).
  socket_cookie: {
    what: 'bpf_get_socket_cookie() in tracing programs',
    since: '5.12',
    probe: (btf) => btf.hasFunction('bpf_get_socket_ptr_cookie'),
  },
  inet_sock_set_state: tracepoint('inet_sock_set_state', 'sock', '4.16'),
  tcp_probe: tracepoint('tcp_probe', 'tcp', '4.16'),
  tcp_retransmit_skb: tracepoint('tcp_retransmit_skb', 'tcp', '4.15'),
  tcp_retransmit_synack: tracepoint('tcp_retransmit_synack', 'tcp', '4.15'),
  tcp_send_reset: tracepoint('tcp_send_reset', 'tcp', '4.15'),
  // 6.10 gave tcp_send_reset its own record (sockaddrs, the reason) and fired it for resets sent
  // without a socket too; before, it shared tcp_event_sk_skb's record and fired only with one.
  tcp_send_reset_record: {
    what: "tcp:tcp_send_reset's record with addresses and reason",
    since: '6.10',
    probe: (btf) => btf.hasMember('trace_event_raw_tcp_send_reset', 'saddr'),
  },
  tcp_receive_reset: tracepoint('tcp_receive_reset', 'tcp', '4.15'),
  tcp_destroy_sock: tracepoint('tcp_destroy_sock', 'tcp', '4.15'),
  inet_sk_error_report: tracepoint('inet_sk_error_report', 'sock', '5.14'),
  sock_rcvqueue_full: tracepoint('sock_rcvqueue_full', 'sock', '4.16'),
  sock_exceed_buf_limit: tracepoint('sock_exceed_buf_limit', 'sock', '4.16'),
  kfree_skb_reason: {
    what: "skb:kfree_skb's drop reason",
    since: '5.17',
    probe: (btf) => btf.enumValues('skb_drop_reason') !== undefined && (btf.tracepointArguments('kfree_skb') ?? 0) >= 3,
  },
};

export const KERNEL_FEATURE_IDS = Object.keys(KERNEL_FEATURES) as KernelFeatureId[];

/** Environment variable naming features to treat as missing (comma-separated ids): tests run the degraded paths on a kernel that has them. */
export const FEATURES_OFF_ENV = 'TCPSCOPE_KERNEL_FEATURES_OFF';

export class KernelFeatures {
  constructor(
    private readonly present: ReadonlySet<KernelFeatureId>,
    /** Where the answers come from, for messages. */
    readonly source: string,
  ) {}

  /** Probes every feature in `btf`; `off` are reported missing whatever the BTF says. */
  static probe(btf: KernelBtf, source: string, off: readonly KernelFeatureId[] = []): KernelFeatures {
    const present = new Set<KernelFeatureId>();
    for (const id of KERNEL_FEATURE_IDS) if (!off.includes(id) && KERNEL_FEATURES[id].probe(btf)) present.add(id);
    return new KernelFeatures(present, source);
  }

  /** Every feature present: what the agent assumes without BTF (the start-up check refuses that kernel first). */
  static all(source: string): KernelFeatures {
    return new KernelFeatures(new Set(KERNEL_FEATURE_IDS), source);
  }

  has(id: KernelFeatureId): boolean {
    return this.present.has(id);
  }

  missing(): KernelFeatureId[] {
    return KERNEL_FEATURE_IDS.filter((id) => !this.present.has(id));
  }
}

/** Parses FEATURES_OFF_ENV; an unknown id is an error (a typo must not silently test nothing). */
export function featuresOff(value: string | undefined): KernelFeatureId[] {
  if (!value) return [];
  const ids = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const id of ids) {
    if (!(KERNEL_FEATURE_IDS as string[]).includes(id)) {
      throw new BpfLoadError(22, `${FEATURES_OFF_ENV}: unknown kernel feature "${id}" (known: ${KERNEL_FEATURE_IDS.join(', ')})`);
    }
  }
  return ids as KernelFeatureId[];
}

let running: KernelFeatures | undefined;

/** The running kernel's features, probed once per process (reading its BTF takes ~50 ms). */
export function runningKernelFeatures(): KernelFeatures {
  if (running) return running;
  const path = '/sys/kernel/btf/vmlinux';
  const off = featuresOff(process.env[FEATURES_OFF_ENV]);
  running = KernelBtf.read(path, (btf) => (btf ? KernelFeatures.probe(btf, path, off) : KernelFeatures.all(`${path} (absent)`)));
  return running;
}

export type KernelReceiverType = 'tcp_lifecycle' | 'tcp_handshake' | 'tcp_rtt' | 'tcp_anomalies';

/** What a receiver does without a feature it can lack: how it is turned off and what the user loses. */
interface Degradation {
  /** Programs left unloaded. */
  readonly unload?: readonly string[];
  /** Programs loaded instead (SEC("?...") programs, not loaded otherwise). */
  readonly load?: readonly string[];
  /** `const volatile` switches of bpf/kernel_features.h (and the like) set to 0. */
  readonly switchOff?: readonly string[];
  /** Stand-in maps to size (the socket budget of the receiver), sized to 1 when unused. */
  readonly standIns?: readonly string[];
  readonly loss: string;
}

interface ReceiverFeatures {
  /** Without these the receiver cannot run. */
  readonly required: readonly KernelFeatureId[];
  readonly optional: Partial<Record<KernelFeatureId, Degradation>>;
}

const HASH_LOSS = 'an LRU hash keyed by socket address stands in for socket storage';

/** Stand-in entries per entry of the receiver's own socket limit. */
export const STAND_IN_FACTOR = 2;

export const RECEIVER_FEATURES: Readonly<Record<KernelReceiverType, ReceiverFeatures>> = {
  tcp_lifecycle: {
    // Its sockets are followed in a hash keyed by address (bpf/tcp_lifecycle.bpf.c says why), so
    // socket storage is not among what it can lack.
    required: ['ring_buffer', 'inet_sock_set_state', 'tcp_send_reset', 'tcp_receive_reset', 'tcp_destroy_sock'],
    optional: {},
  },
  tcp_handshake: {
    // Its pending connects are in a preallocated hash keyed by address (bpf/tcp_handshake.bpf.c
    // says why), so socket storage is not among what it can lack; tcp_destroy_sock frees an entry
    // whose outcome run the kernel skipped.
    required: ['ring_buffer', 'inet_sock_set_state', 'tcp_destroy_sock'],
    optional: {
      inet_sk_error_report: {
        unload: ['tcp_handshake_error_report'],
        loss:
          'an error reported on a connecting socket is read at connect() return, getsockopt(SO_ERROR) and close only: one the application consumed otherwise is reported as ECONNABORTED',
      },
      socket_cookie: {
        switchOff: ['cfg_socket_cookie'],
        loss: 'a failed socket is told from a new one at the same address by its inode number instead of its cookie (same outcomes)',
      },
    },
  },
  tcp_rtt: {
    required: ['tcp_probe'],
    optional: {
      socket_storage: {
        switchOff: ['cfg_socket_storage'],
        standIns: ['tcp_rtt_sockets_by_address'],
        loss: `${HASH_LOSS} for sample_interval: a socket's first sample can wait up to sample_interval when it reuses the address of a closed socket, and each segment costs a hash lookup`,
      },
    },
  },
  tcp_anomalies: {
    required: ['ring_buffer', 'tcp_retransmit_skb'],
    optional: {
      socket_storage: {
        switchOff: ['cfg_socket_storage'],
        standIns: ['tcp_anomalies_retransmits_by_address'],
        loss: `${HASH_LOSS} for the retransmission events' rate limit: a connection evicted from it can get one more tcp.retransmit event than event_interval allows`,
      },
      tcp_send_reset_record: {
        unload: ['tcp_anomalies_send_reset'],
        load: ['tcp_anomalies_send_reset_socket'],
        loss: 'resets sent without a socket (answers to segments no socket wanted) are not counted, and tcp.reset.reason is unknown',
      },
      tcp_send_reset: {
        unload: ['tcp_anomalies_send_reset', 'tcp_anomalies_send_reset_socket'],
        loss: 'resets sent are not counted',
      },
      tcp_receive_reset: { unload: ['tcp_anomalies_receive_reset'], loss: 'resets received are not counted' },
      tcp_retransmit_synack: { unload: ['tcp_anomalies_retransmit_synack'], loss: 'SYN-ACK retransmissions are not counted' },
      sock_rcvqueue_full: { unload: ['tcp_anomalies_rcvqueue_full'], loss: 'receive queue overflows are not counted' },
      sock_exceed_buf_limit: { unload: ['tcp_anomalies_exceed_buf_limit'], loss: 'tcp_mem pressure events are not counted' },
    },
  },
};

/** What prepare() writes before load; BpfObject has these. */
export interface FeatureSwitches {
  setGlobalU32(name: string, value: number): void;
  setAutoload(program: string, enabled: boolean): void;
  setMaxEntries(map: string, entries: number): void;
}

/** The start-up line of a missing feature: what is missing and what the user loses. */
export function missingFeatureLine(id: KernelFeatureId, loss: string): string {
  const feature = KERNEL_FEATURES[id];
  return `no ${feature.what} (kernel < ${feature.since}): ${loss}`;
}

/**
 * Turns off, before load, what `receiver` cannot have on this kernel; returns one line per
 * missing feature. Throws BpfLoadError naming what is missing when the receiver cannot run.
 * `socketBudget` sizes the stand-in maps (the receiver's own socket limit). `unused`: features this
 * receiver's config does not use (e.g. tcp_rtt's socket storage with sample_interval 0): turned
 * off all the same where missing, but without a line, since the user loses nothing.
 */
export function applyKernelFeatures(
  receiver: KernelReceiverType,
  bpf: FeatureSwitches,
  features: KernelFeatures,
  socketBudget: number,
  unused: readonly KernelFeatureId[] = [],
): string[] {
  const spec = RECEIVER_FEATURES[receiver];
  const lacking = spec.required.filter((id) => !features.has(id));
  if (lacking.length > 0) {
    const list = lacking.map((id) => `${KERNEL_FEATURES[id].what} (Linux ${KERNEL_FEATURES[id].since})`).join(', ');
    throw new BpfLoadError(
      95, // EOPNOTSUPP
      `${receiver} cannot run on this kernel: it lacks ${list} (read from ${features.source}). Use a newer kernel or remove ${receiver} from the config`,
    );
  }
  const lines: string[] = [];
  const unloaded = new Set<string>();
  const loaded = new Set<string>();
  for (const [id, degradation] of Object.entries(spec.optional) as [KernelFeatureId, Degradation][]) {
    const missing = !features.has(id);
    // Twice the receiver's own limit: the stand-in must outlive the entries of the map it watches
    // for evictions (same-size LRUs evict the same sockets: no eviction would be seen), at ~64
    // bytes of kernel memory per entry.
    for (const map of degradation.standIns ?? []) bpf.setMaxEntries(map, missing ? STAND_IN_FACTOR * socketBudget : 1);
    if (!missing) continue;
    for (const name of degradation.switchOff ?? []) bpf.setGlobalU32(name, 0);
    for (const program of degradation.unload ?? []) unloaded.add(program);
    for (const program of degradation.load ?? []) loaded.add(program);
    if (!unused.includes(id)) lines.push(missingFeatureLine(id, degradation.loss));
  }
  // An unload wins over a load (tcp_send_reset missing altogether beats its old record).
  for (const program of loaded) if (!unloaded.has(program)) bpf.setAutoload(program, true);
  for (const program of unloaded) bpf.setAutoload(program, false);
  return lines;
}
