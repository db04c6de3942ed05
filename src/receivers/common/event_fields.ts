// How event attributes are derived from the raw kernel values, in one place: the log records use
// these functions, and the sampling push-down derives its kernel-side bounds from the very same
// ones, so a threshold evaluated in the kernel and in the processor cannot disagree.

/** Seconds, as events report kernel nanoseconds (tcp.duration, tcp.handshake.duration). */
export function secondsFromNs(ns: bigint): number {
  return Number(ns) / 1e9;
}

/** Seconds, as events report kernel microseconds (tcp.rtt from srtt_us). */
export function secondsFromUs(us: number): number {
  return us / 1e6;
}
