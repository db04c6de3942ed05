// The peer tools `npm run bench` measures beside tcpscope in the same run, under the same load:
// libbpf-tools' tcplife (one line per closed socket) and tcpstates (one line per state change),
// and two bpftrace scripts that aggregate in the kernel like tcpscope's metrics do (a per-cgroup
// connection lifetime histogram, a per-cgroup srtt histogram on tcp:tcp_probe). Each is started,
// awaited until every BPF program it holds is attached (as `bpftool perf` lists them), measured through /proc like the agent, stopped by pid
// with SIGINT (which makes each of them flush its output and exit 0) and its output read back.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths';
import { sleep } from './agent_process';
import { spawnTracked } from './child_processes';
import { cpuSeconds } from './proc_stats';

export type PeerName = 'tcplife' | 'tcpstates' | 'bpftrace-lifetime' | 'bpftrace-srtt';
export const PEER_NAMES: readonly PeerName[] = ['tcplife', 'tcpstates', 'bpftrace-lifetime', 'bpftrace-srtt'];

export interface PeerTool {
  readonly name: PeerName;
  /** The report's wording. */
  readonly label: string;
  /** Debian package that ships it, for the "install it" message. */
  readonly debianPackage: string;
  readonly executable: string;
  readonly args: readonly string[];
  /**
   * Records of the load's connections in the tool's output: lines naming one of `ports`, or the
   * samples its histograms hold.
   */
  readonly countRecords: (stdout: string, ports: ReadonlySet<number>) => number;
  /** Records the tool should print per completed connection of the churn load; undefined when it depends. */
  readonly recordsPerConnection: number | undefined;
  /**
   * Tracepoints it is ready on once `bpftool perf` lists them for its pid: bpftrace loads and
   * attaches probe by probe (END before the tracepoints), so "every program held is attached" can
   * hold before the one that matters is there.
   */
  readonly attachesTo: readonly string[];
}

/** The scripts stay in the source tree (tsc copies no .bt files into dist/). */
const BPFTRACE_DIR = join(PACKAGE_ROOT, 'bench', 'bpftrace');

/** tcplife / tcpstates columns: LPORT and RPORT are the whitespace-separated fields before/after an address. */
function linesNamingPorts(stdout: string, ports: ReadonlySet<number>, portColumns: readonly number[]): number {
  let count = 0;
  for (const line of stdout.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (portColumns.some((column) => ports.has(Number(fields[column])))) count++;
  }
  return count;
}

/** The sum of the counts of every bpftrace hist() bucket line (`[lo, hi)  count |@@@|`). */
export function histogramSamples(stdout: string): number {
  let total = 0;
  for (const match of stdout.matchAll(/^\[[^\]\n]*[\])][ \t]+(\d+)[ \t]+\|/gm)) total += Number(match[1]);
  return total;
}

export const PEERS: Readonly<Record<PeerName, PeerTool>> = {
  // PID COMM LADDR LPORT RADDR RPORT TX_KB RX_KB MS: one line per socket that closes, so two per
  // connection of the load (its client and server sockets both live on this host).
  tcplife: {
    name: 'tcplife',
    label: 'peer: tcplife (libbpf-tools)',
    debianPackage: 'libbpf-tools',
    executable: '/usr/sbin/tcplife',
    args: [],
    countRecords: (stdout, ports) => linesNamingPorts(stdout, ports, [3, 5]),
    recordsPerConnection: 2,
    attachesTo: ['inet_sock_set_state'],
  },
  // SKADDR PID COMM LADDR LPORT RADDR RPORT OLDSTATE -> NEWSTATE MS: one line per state change,
  // 5 per socket of a connection closed client-first (SYN_SENT ... CLOSE, SYN_RECV ... CLOSE).
  tcpstates: {
    name: 'tcpstates',
    label: 'peer: tcpstates (libbpf-tools)',
    debianPackage: 'libbpf-tools',
    executable: '/usr/sbin/tcpstates',
    args: [],
    countRecords: (stdout, ports) => linesNamingPorts(stdout, ports, [4, 6]),
    recordsPerConnection: 10,
    attachesTo: ['inet_sock_set_state'],
  },
  'bpftrace-lifetime': {
    name: 'bpftrace-lifetime',
    label: 'peer: bpftrace lifetime histogram per cgroup',
    debianPackage: 'bpftrace',
    executable: '/usr/bin/bpftrace',
    args: [join(BPFTRACE_DIR, 'lifetime_per_cgroup.bt')],
    // Histograms are host-wide: other sockets' samples are in them too (few, next to the load's).
    countRecords: (stdout) => histogramSamples(stdout),
    recordsPerConnection: 2,
    attachesTo: ['inet_sock_set_state'],
  },
  'bpftrace-srtt': {
    name: 'bpftrace-srtt',
    label: 'peer: bpftrace srtt histogram per cgroup (tcp:tcp_probe)',
    debianPackage: 'bpftrace',
    executable: '/usr/bin/bpftrace',
    args: [join(BPFTRACE_DIR, 'srtt_per_cgroup.bt')],
    countRecords: (stdout) => histogramSamples(stdout),
    recordsPerConnection: undefined,
    attachesTo: ['tcp_probe'],
  },
};

/** Lists attached BPF programs with the pid holding each attachment; Debian `bpftool` (scripts/setup.sh installs it). */
export const BPFTOOL = '/usr/sbin/bpftool';

/** Why a peer cannot run here (not installed), or undefined. */
export function peerUnavailable(peer: PeerTool): string | undefined {
  if (!existsSync(peer.executable)) return `${peer.executable} is missing: apt-get install ${peer.debianPackage} (scripts/setup.sh installs it)`;
  if (!existsSync(BPFTOOL)) return `${BPFTOOL} is missing (it tells when the tool's programs are attached): apt-get install bpftool`;
  for (const script of peer.args.filter((a) => a.endsWith('.bt'))) {
    if (!existsSync(script)) return `${script} is missing from this checkout`;
  }
  return undefined;
}

/** Lines in which the tool says it lost events (libbpf-tools: "lost N events on CPU #C"; bpftrace: "Lost N events"). */
export function lostEvents(output: string): number {
  let lost = 0;
  for (const match of output.matchAll(/\blost (\d+) events\b/gi)) lost += Number(match[1]);
  return lost;
}

/** Ids of the BPF programs whose fds `pid` holds (`prog_id:` in /proc/<pid>/fdinfo). */
export function heldProgramIds(pid: number): Set<number> {
  const ids = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return ids;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:bpf-prog') continue;
      const match = /^prog_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (match) ids.add(Number(match[1]));
    } catch {
      // closed meanwhile (libbpf's feature probes load and close programs while the tool starts)
    }
  }
  return ids;
}

/** What `bpftool perf -j` lists as attached by `pid` (tracepoints, raw tracepoints, uprobes...): program ids and tracepoint names. */
export function attachedBy(bpftoolPerfJson: string, pid: number): { programs: Set<number>; tracepoints: Set<string> } {
  const entries = JSON.parse(bpftoolPerfJson) as readonly { readonly pid?: number; readonly prog_id?: number; readonly tracepoint?: string }[];
  const ours = entries.filter((e) => e.pid === pid);
  return {
    programs: new Set(ours.flatMap((e) => (e.prog_id !== undefined ? [e.prog_id] : []))),
    tracepoints: new Set(ours.flatMap((e) => (e.tracepoint !== undefined ? [e.tracepoint] : []))),
  };
}

/**
 * Ready: `bpftool perf` lists the tool's tracepoints as attached by its pid, and every program
 * the tool holds is attached. A link or perf event fd alone is not enough: the perf buffers of
 * tcplife and tcpstates and bpftrace's output are perf event fds too.
 */
export function isReady(peer: PeerTool, held: ReadonlySet<number>, attached: { programs: ReadonlySet<number>; tracepoints: ReadonlySet<string> }): boolean {
  return held.size > 0 && [...held].every((id) => attached.programs.has(id)) && peer.attachesTo.every((tp) => attached.tracepoints.has(tp));
}

async function attachedNow(peer: PeerTool, pid: number): Promise<boolean> {
  const held = heldProgramIds(pid);
  if (held.size === 0) return false;
  const { stdout } = await promisify(execFile)(BPFTOOL, ['perf', '-j'], { encoding: 'utf8', timeout: 10_000, maxBuffer: 16 * 1024 * 1024 });
  return isReady(peer, held, attachedBy(stdout, pid));
}

const STOP_TIMEOUT_MS = 60_000;
const OUTPUT_KEPT = 256 * 1024 * 1024;

/** A peer tool running under the benchmark. */
export class PeerProcess {
  private stdoutText = '';
  private stderrText = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly peer: PeerTool,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      // Bounded: a tool printing hundreds of MB would otherwise grow the runner's heap without end.
      if (this.stdoutText.length < OUTPUT_KEPT) this.stdoutText += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderrText = (this.stderrText + chunk).slice(-65536)));
  }

  /** Starts the tool and resolves once every BPF program it holds is attached. */
  static async start(peer: PeerTool, timeoutMs: number): Promise<PeerProcess> {
    const child = spawnTracked(peer.executable, peer.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tool = new PeerProcess(peer, child);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${peer.name} exited with ${child.exitCode ?? child.signalCode} before attaching:\n${tool.stderrText.trim()}`);
      }
      if (child.pid !== undefined && (await attachedNow(peer, child.pid))) return tool;
      if (Date.now() > deadline) {
        tool.kill();
        throw new Error(`${peer.name} did not attach within ${timeoutMs / 1000} s:\n${tool.stderrText.trim()}`);
      }
      await sleep(50);
    }
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.peer.name} has no pid (spawn failed)`);
    return pid;
  }

  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  /** SIGINT (each tool flushes and exits on it), then waits for the exit and its output. */
  async stop(): Promise<{ stdout: string; stderr: string }> {
    this.child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)));
    const result = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.kill();
      throw new Error(`${this.peer.name} did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGINT`);
    }
    // stdout may still hold buffered data after 'exit': wait for the pipe to close.
    if (this.child.stdout && !this.child.stdout.closed) await new Promise((resolve) => this.child.stdout?.once('close', resolve));
    if (result.code !== 0 && result.signal !== 'SIGINT') {
      throw new Error(`${this.peer.name} exited with ${result.code ?? result.signal} after SIGINT:\n${this.stderrText.trim()}`);
    }
    return { stdout: this.stdoutText, stderr: this.stderrText };
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
