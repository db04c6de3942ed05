// bpf/connection_sampling.h compiled for the host: the kernel's sampling decision and hash for
// given settings and events, to check them against the TypeScript sampler without a kernel.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths';

/** One event as a kernel program would describe it to tcpscope_sampling_keeps(). */
export interface KernelSubject {
  readonly family: number;
  /** 16 bytes each, IPv4 in the first 4. */
  readonly saddr: Buffer;
  readonly daddr: Buffer;
  readonly sport: number;
  readonly dport: number;
  readonly localAbsent: boolean;
  /** errno, 0 for none. */
  readonly error: number;
  /** Raw values by TCPSCOPE_SAMPLING_FIELD_* (absent: the event does not carry the field). */
  readonly values: Readonly<Partial<Record<number, bigint>>>;
}

export interface KernelDecision {
  readonly keep: boolean;
  /** FNV-1a 64 of the canonical tuple as the kernel computes it. */
  readonly hash: bigint;
}

const PROGRAM = `
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "${join(PACKAGE_ROOT, 'bpf', 'connection_sampling.h')}"

static void from_hex(const char *text, __u8 *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned byte = 0;
		sscanf(text + 2 * i, "%2x", &byte);
		out[i] = (__u8)byte;
	}
}

int main(void)
{
	static char text[2 * sizeof(struct tcpscope_sampling_settings) + 1];
	struct tcpscope_sampling_settings settings;
	if (scanf("%416s", text) != 1 || strlen(text) != 2 * sizeof(settings))
		return 2;
	from_hex(text, (__u8 *)&settings, sizeof(settings));
	unsigned family, sport, dport, local_absent, error, present;
	char s[33], d[33];
	unsigned long long v[TCPSCOPE_SAMPLING_FIELDS];
	while (scanf("%u %32s %u %32s %u %u %u %u %llu %llu %llu %llu", &family, s, &sport, d, &dport, &local_absent, &error,
		     &present, &v[0], &v[1], &v[2], &v[3]) == 12) {
		__u8 saddr[16], daddr[16];
		from_hex(s, saddr, 16);
		from_hex(d, daddr, 16);
		struct tcpscope_sampling_subject subject = {
			.saddr = saddr,
			.daddr = daddr,
			.present = present,
			.error = error,
			.family = family,
			.sport = sport,
			.dport = dport,
			.local_absent = local_absent,
		};
		for (int i = 0; i < TCPSCOPE_SAMPLING_FIELDS; i++)
			subject.values[i] = v[i];
		printf("%d %llu\\n", tcpscope_sampling_keeps(&settings, &subject), (unsigned long long)tcpscope_subject_hash(&subject));
	}
	return 0;
}
`;

/** Compiles the host program once; `decide` runs it over a batch of events. */
export class HostSamplingPredicate {
  private constructor(
    private readonly dir: string,
    private readonly binary: string,
  ) {}

  static compile(): HostSamplingPredicate {
    const dir = mkdtempSync(join(tmpdir(), 'tcpscope-sampling-'));
    try {
      writeFileSync(join(dir, 'sampling.c'), PROGRAM);
      const binary = join(dir, 'sampling');
      execFileSync('cc', ['-O2', '-Wall', '-Werror', '-o', binary, join(dir, 'sampling.c')], { stdio: 'pipe' });
      return new HostSamplingPredicate(dir, binary);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  decide(settings: Buffer, subjects: readonly KernelSubject[]): KernelDecision[] {
    const lines = [settings.toString('hex')];
    for (const s of subjects) {
      let present = 0;
      const values: bigint[] = [0n, 0n, 0n, 0n];
      for (const [field, value] of Object.entries(s.values)) {
        if (value === undefined) continue;
        present |= 1 << Number(field);
        values[Number(field)] = value;
      }
      lines.push(
        [s.family, s.saddr.toString('hex'), s.sport, s.daddr.toString('hex'), s.dport, s.localAbsent ? 1 : 0, s.error, present, ...values].join(' '),
      );
    }
    const out = execFileSync(this.binary, { input: lines.join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 << 20 });
    const decisions = out.trim().split('\n').filter(Boolean).map((line) => {
      const [keep, hash] = line.split(' ');
      return { keep: keep === '1', hash: BigInt(hash) };
    });
    if (decisions.length !== subjects.length) throw new Error(`host predicate answered ${decisions.length} of ${subjects.length} events`);
    return decisions;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
