// Every attribute key tcpscope emits. Names follow OpenTelemetry semantic conventions where one
// exists; `tcp.*` are per-event fields of our own; `tcpscope.*` describe the agent itself.
// docs/telemetry.md is generated from these definitions (npm run docs:telemetry).

export type AttributeType = 'string' | 'int' | 'double' | 'boolean' | 'string[]';

export interface AttributeDefinition {
  readonly key: string;
  readonly type: AttributeType;
  readonly description: string;
  readonly example: string;
}

function attribute(key: string, type: AttributeType, description: string, example: string): AttributeDefinition {
  return { key, type, description, example };
}

export const ATTR = {
  networkTransport: attribute('network.transport', 'string', 'Always `tcp`.', 'tcp'),
  networkType: attribute(
    'network.type',
    'string',
    '`ipv4` or `ipv6`. An IPv6 socket talking to an IPv4-mapped address (`::ffff:a.b.c.d`) reports `ipv4` and dotted addresses: that is what is on the wire.',
    'ipv4',
  ),
  localAddress: attribute('network.local.address', 'string', 'Local IP address of the socket.', '127.0.0.1'),
  localPort: attribute('network.local.port', 'int', 'Local TCP port.', '8080'),
  peerAddress: attribute('network.peer.address', 'string', 'Peer IP address.', '198.18.0.2'),
  peerPort: attribute('network.peer.port', 'int', 'Peer TCP port.', '443'),
  handshakeRole: attribute(
    'network.tcp.handshake.role',
    'string',
    '`client` for sockets that sent the SYN (connect), `server` for sockets created by a listener (accept).',
    'client',
  ),
  processPid: attribute(
    'process.pid',
    'int',
    'The process that called connect() (client) or accept() (server). Absent when unknown: a server connection closed before any process accepted it.',
    '4242',
  ),
  processExecutableName: attribute('process.executable.name', 'string', 'Command name (comm, at most 15 characters) of that process.', 'curl'),
  processLinuxCgroup: attribute(
    'process.linux.cgroup',
    'string',
    'cgroup v2 of the socket, in the `/proc/<pid>/cgroup` form `0::<path>`. For server sockets this is the listening socket\'s cgroup.',
    '0::/system.slice/nginx.service',
  ),
  cgroupId: attribute(
    'tcp.cgroup.id',
    'int',
    'cgroup v2 id (inode of the cgroup directory), given instead of `process.linux.cgroup` when the cgroup no longer exists and its path cannot be resolved.',
    '1234',
  ),
  netnsInode: attribute('tcp.netns.inode', 'int', 'Inode number of the socket\'s network namespace (as in `/proc/<pid>/ns/net`).', '4026531840'),
  connectionState: attribute(
    'network.connection.state',
    'string',
    'Always `established` for `system.network.connection.count`. On tcp_anomalies events: the socket\'s TCP state when it happened, in the semantic conventions\' values (`established`, `syn_sent`, `syn_received`, `fin_wait_1`, `fin_wait_2`, `time_wait`, `closed`, `close_wait`, `last_ack`, `listen`, `closing`); absent when no socket was involved.',
    'established',
  ),
  ioDirection: attribute(
    'network.io.direction',
    'string',
    '`transmit` (payload bytes acknowledged by the peer) or `receive` (payload bytes received). On resets: `transmit` for a reset this host sent, `receive` for one it received.',
    'transmit',
  ),
  tcpDuration: attribute('tcp.duration', 'double', 'Lifetime of the connection in seconds, from ESTABLISHED to CLOSE.', '1.25'),
  tcpBytesSent: attribute(
    'tcp.bytes.sent',
    'int',
    'Application payload bytes sent and acknowledged by the peer (SYN and FIN sequence space excluded).',
    '1000',
  ),
  tcpBytesReceived: attribute('tcp.bytes.received', 'int', 'Application payload bytes received (SYN and FIN excluded).', '1000'),
  tcpSegmentsSent: attribute('tcp.segments.sent', 'int', 'Segments sent over the connection\'s life (`tcp_sock.segs_out`, pure ACKs and retransmissions included).', '12'),
  tcpSegmentsReceived: attribute('tcp.segments.received', 'int', 'Segments received (`tcp_sock.segs_in`).', '11'),
  tcpRetransmits: attribute('tcp.retransmits', 'int', 'Segments retransmitted (`tcp_sock.total_retrans`).', '0'),
  tcpRtt: attribute('tcp.rtt', 'double', 'Final smoothed RTT in seconds (`tcp_sock.srtt_us >> 3`).', '0.000042'),
  tcpHandshakeDuration: attribute(
    'tcp.handshake.duration',
    'double',
    'Seconds from the SYN sent to ESTABLISHED or to the failure (client); from the SYN-ACK sent to ESTABLISHED (server, the kernel\'s SYN-ACK RTT sample); from connect() entry to its return for failures before any SYN.',
    '0.000087',
  ),
  errorType: attribute(
    'error.type',
    'string',
    'errno name of a failed handshake, as the kernel set it on the socket (`ECONNREFUSED`, `ETIMEDOUT`, `EHOSTUNREACH`, `ENETUNREACH`...) or as connect() returned it. Absent on success.',
    'ECONNREFUSED',
  ),
  socketFd: attribute('tcp.socket.fd', 'int', 'File descriptor of the socket in the process that called connect(), where known.', '7'),
  // tcp_anomalies
  tcpRetransmitKind: attribute(
    'tcp.retransmit.kind',
    'string',
    '`data` (a segment of a synchronized connection, FIN included), `syn` (a client\'s SYN, socket in SYN_SENT) or `synack` (a listener\'s SYN-ACK: the handshake\'s final ACK did not come).',
    'data',
  ),
  tcpRetransmitTrigger: attribute(
    'tcp.retransmit.trigger',
    'string',
    'What made the kernel retransmit, read from the socket\'s congestion state when the segment went out: `rto` (the retransmission timer expired: `TCP_CA_Loss`; every SYN and SYN-ACK retransmission), `tlp` (a tail loss probe: the loss-probe timer, in `TCP_CA_Open`), `recovery` (fast retransmit in `TCP_CA_Recovery`: duplicate ACKs, SACK or RACK), `other` (anything else, e.g. a retransmission after an MTU probe failed).',
    'rto',
  ),
  tcpResetReason: attribute(
    'tcp.reset.reason',
    'string',
    'Why the kernel sent the reset: the `enum sk_rst_reason` name without its `SK_RST_REASON_` prefix, as the `tcp:tcp_send_reset` tracepoint prints it (`NO_SOCKET`: a segment no socket wanted, e.g. a SYN to a closed port; `TCP_ABORT_ON_CLOSE`: closed with unread data; `TCP_ABORT_ON_LINGER`: closed with SO_LINGER 0; `TCP_ABORT_ON_DATA`, `TCP_KEEPALIVE_TIMEOUT`, `TCP_STATE`, `INVALID_SYN`, `TCP_INVALID_ACK_SEQUENCE`, ...). `unknown` on kernels before 6.10, which give no reason. Resets sent only (a received reset carries no reason).',
    'NO_SOCKET',
  ),
  tcpDropReason: attribute(
    'tcp.drop.reason',
    'string',
    'Why the kernel dropped a TCP packet: the `enum skb_drop_reason` name without its `SKB_DROP_REASON_` prefix, as the `skb:kfree_skb` tracepoint prints it. Every `TCP_*` reason, and NO_SOCKET, SOCKET_CLOSE, SOCKET_FILTER, SOCKET_RCVBUFF, SOCKET_BACKLOG, PROTO_MEM, NETFILTER_DROP, QDISC_DROP, QDISC_OVERLIMIT, CPU_BACKLOG, TC_EGRESS and TC_INGRESS for packets that the socket or the IP header says are TCP.',
    'TCP_ZEROWINDOW',
  ),
  tcpBufferPressureKind: attribute(
    'tcp.buffer.pressure.kind',
    'string',
    '`receive_queue_full` (`sock:sock_rcvqueue_full`: the socket\'s receive queue refused a packet), `memory_limit_send` / `memory_limit_receive` (`sock:sock_exceed_buf_limit`: TCP\'s memory, `net.ipv4.tcp_mem`, is over its limit and this socket\'s allocation was refused or put under pressure).',
    'memory_limit_receive',
  ),
  tcpStack: attribute(
    'tcp.stack',
    'string[]',
    'With `stack_traces: true`: the kernel stack that sent the reset or dropped the packet, innermost frame first, each `symbol+0xoffset` from /proc/kallsyms (a hex address where no symbol covers it), at most 32 frames. Absent when the stack did not fit the receiver\'s `max_stacks` map.',
    '["tcp_v4_send_reset+0x1c5", "tcp_v4_rcv+0x9d4", "..."]',
  ),
  // tcp_lifecycle: how a connection ended (the tcp.close classification)
  tcpConnectionEnd: attribute(
    'tcp.connection.end',
    'string',
    'How the connection ended, decided in the kernel per socket at its CLOSE transition: `fin` (orderly: both FINs exchanged and ours acknowledged), `reset_sent` (this side sent a RST: close() with unread data, SO_LINGER {1, 0}, tcp_abort...), `reset_received` (the peer\'s RST closed it), `timeout` (the kernel gave up: retransmission timeout, TCP_USER_TIMEOUT or keepalive timeout, i.e. the socket error ETIMEDOUT or an ICMP error reported in its place), `abort` (closed by this side without FIN and without RST). Rules, in order, in src/receivers/tcp_lifecycle/README.md. Named `end`, not `reason`, to keep it apart from the kernel\'s reset and drop reasons.',
    'reset_received',
  ),
  containerId: attribute(
    'container.id',
    'string',
    'Added by k8s_attributes: the container of the socket\'s cgroup (containerd, CRI-O and Docker scopes, systemd and cgroupfs drivers).',
    'a3bf90e006b2',
  ),
  k8sPodUid: attribute('k8s.pod.uid', 'string', 'Added by k8s_attributes: the pod uid from the kubelet cgroup path.', '275ecb36-5aa8-4c2a-9c47-d8bb681b9aff'),
  k8sNamespaceName: attribute('k8s.namespace.name', 'string', 'Added by k8s_attributes: namespace of the socket\'s pod.', 'shop'),
  k8sPodName: attribute('k8s.pod.name', 'string', 'Added by k8s_attributes: name of the socket\'s pod.', 'checkout-7d4b9c-x2x9z'),
  k8sContainerName: attribute('k8s.container.name', 'string', 'Added by k8s_attributes: name of the container (from the pod\'s container statuses, matched by container id).', 'app'),
  containerImageName: attribute('container.image.name', 'string', 'Added by k8s_attributes: the container\'s image without tag or digest.', 'registry.example/shop/checkout'),
  k8sNodeName: attribute('k8s.node.name', 'string', 'Added by k8s_attributes: the node the socket\'s pod runs on.', 'node-1'),
  k8sReplicaSetName: attribute('k8s.replicaset.name', 'string', 'Added by k8s_attributes: the ReplicaSet that owns the pod.', 'checkout-7d4b9c'),
  k8sDeploymentName: attribute(
    'k8s.deployment.name',
    'string',
    'Added by k8s_attributes: the Deployment that owns the pod\'s ReplicaSet (from the ReplicaSet\'s owner; while the ReplicaSet is not known, the ReplicaSet name without its `pod-template-hash` suffix).',
    'checkout',
  ),
  k8sStatefulSetName: attribute('k8s.statefulset.name', 'string', 'Added by k8s_attributes: the StatefulSet that owns the pod.', 'postgres'),
  k8sDaemonSetName: attribute('k8s.daemonset.name', 'string', 'Added by k8s_attributes: the DaemonSet that owns the pod.', 'tcpscope'),
  k8sJobName: attribute('k8s.job.name', 'string', 'Added by k8s_attributes: the Job that owns the pod.', 'backup-29345678'),
  k8sCronJobName: attribute('k8s.cronjob.name', 'string', 'Added by k8s_attributes: the CronJob that owns the pod\'s Job.', 'backup'),
  k8sPodLabel: attribute('k8s.pod.label.<key>', 'string', 'Added by k8s_attributes for each key in `extract.labels` the pod has: the label\'s value.', 'k8s.pod.label.app=checkout'),
  k8sPodAnnotation: attribute('k8s.pod.annotation.<key>', 'string', 'Added by k8s_attributes for each key in `extract.annotations` the pod has: the annotation\'s value.', 'k8s.pod.annotation.team=payments'),
  peerK8sPodName: attribute('peer.k8s.pod.name', 'string', 'Added by k8s_attributes (peer.enabled): the pod whose IP is `network.peer.address` (hostNetwork pods share their node\'s IP and resolve to the node instead).', 'cart-5f6d8-kq2lp'),
  peerK8sNamespaceName: attribute('peer.k8s.namespace.name', 'string', 'Added by k8s_attributes (peer.enabled): namespace of the peer pod or service.', 'shop'),
  peerK8sServiceName: attribute(
    'peer.k8s.service.name',
    'string',
    'Added by k8s_attributes (peer.enabled): the Service whose ClusterIP is `network.peer.address`. A client socket sees the ClusterIP (DNAT happens after it), so client-side events name the service, not the backend pod.',
    'cart',
  ),
  peerK8sNodeName: attribute('peer.k8s.node.name', 'string', 'Added by k8s_attributes (peer.enabled): the node of the peer pod, or the node whose address is `network.peer.address`.', 'node-2'),
  samplingProbability: attribute(
    'tcpscope.sampling.probability',
    'double',
    'Added by the sampling processor to every event it keeps: the probability with which such an event is kept (the hash ratio, or 1 when a threshold or keep_errors kept it), so a backend can re-weight counts by 1/probability.',
    '0.25',
  ),
  receiver: attribute('receiver', 'string', 'Id of the receiver (`type[/name]`) whose events are counted.', 'tcp_lifecycle'),
  program: attribute(
    'program',
    'string',
    'Name of the receiver\'s kernel program (as in its `bpf/<receiver>.bpf.c`; `bpftool prog` shows its first 15 characters).',
    'tcp_rtt_probe',
  ),
  dropReason: attribute(
    'reason',
    'string',
    'Why events were lost: `ring_buffer_full` (user space did not drain the ring buffer in time: raise `ring_buffer_size`), `connection_untracked` (tcp_lifecycle: a TCP socket was not followed because its `max_connections` table was full, so its events and its connection metrics are missing; counted once per socket: raise `max_connections`), `attempt_untracked` (tcp_handshake: a connect was not followed because its `max_attempts` table of pending connects was full, so its outcome is missing from the histogram and the events: raise `max_attempts`).',
    'ring_buffer_full',
  ),
  exporter: attribute('exporter', 'string', 'Id of the exporter (`type[/name]`) the value is about.', 'otlp'),
  signal: attribute('signal', 'string', '`metrics` (items are data points) or `logs` (items are log records).', 'logs'),
  cpuMode: attribute('cpu.mode', 'string', '`user` or `system`: the CPU time the agent process spent in user space or in the kernel on its behalf.', 'user'),
  overflow: attribute(
    'otel.metric.overflow',
    'boolean',
    '`true` on the one series that aggregates everything beyond a map\'s or metric\'s cardinality limit.',
    'true',
  ),
  captureOutcome: attribute(
    'outcome',
    'string',
    'tcpscope.capture.packets: what became of packets a capture selected: `captured` (written to its pcapng files), `skipped_sampling` (not the 1 in `sampleOneIn`), `skipped_rate_limit` (over `packetsPerSecond`), `skipped_lost` (the kernel ring buffer was full, or the file write failed). tcpscope.capture.triggers: what became of a trigger the kernel saw: `started` (a capture began), `cooldown` (the connection had a triggered capture less than `triggers.cooldown` ago), `busy` (`triggers.max_captures` were running).',
    'captured',
  ),
  captureId: attribute('tcpscope.capture.id', 'string', 'The capture\'s id within the agent process.', 'cap-3'),
  captureName: attribute('tcpscope.capture.name', 'string', 'The name given in the capture request, when one was.', 'checkout-debug'),
  captureReason: attribute(
    'tcpscope.capture.reason',
    'string',
    'Why the capture started: `on_demand`, `schedule`, `failed_connect`, `reset`, `retransmit_burst`.',
    'failed_connect',
  ),
  captureEnd: attribute('tcpscope.capture.end', 'string', 'Why it ended: `packets`, `bytes`, `duration` (a bound reached), `stopped`, `shutdown`, `error`.', 'packets'),
  captureSelection: attribute('tcpscope.capture.selection', 'string', 'The selection, as `source <-> destination` (`->` when not bidirectional) and the cgroup ids.', '198.18.0.1:* <-> 198.18.0.2:80'),
  captureFiles: attribute('tcpscope.capture.files', 'string[]', 'The pcapng files written, oldest first.', '["/var/lib/tcpscope/captures/tcpscope-on_demand-cap-1-….pcapng"]'),
  capturePackets: attribute('tcpscope.capture.packets', 'int', 'Packets written to the files.', '42'),
  captureBytes: attribute('tcpscope.capture.bytes', 'int', 'Bytes of packet data written (after snaplen).', '4242'),
  captureSkipped: attribute('tcpscope.capture.skipped', 'int', 'Selected packets not written (sampling, rate limit, lost): the capture\'s share of tcpscope.capture.packets with a `skipped_*` outcome.', '0'),
} as const;

export type AttributeName = keyof typeof ATTR;
