import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duplicateProgramsWarning, programsLikeOurs } from './duplicate_programs';

const ours = [
  { program: 'tcp_lifecycle_set_state', id: 5, runCount: 0n, runTimeNs: 0n, recursionMisses: 0n },
  { program: 'tcp_lifecycle_accept4_exit', id: 6, runCount: 0n, runTimeNs: 0n, recursionMisses: 0n },
];

test('programs named like ours (as the kernel truncates names to 15 characters) but not ours', () => {
  const loaded = [
    { id: 5, name: 'tcp_lifecycle_s' },
    { id: 6, name: 'tcp_lifecycle_a' },
    { id: 9, name: 'tcp_lifecycle_s' },
    { id: 10, name: 'tcp_rtt_probe' },
    { id: 11, name: 'tcp_lifecycle_x' },
  ];
  assert.deepEqual(programsLikeOurs(ours, loaded), [{ id: 9, name: 'tcp_lifecycle_s' }]);
  assert.deepEqual(programsLikeOurs(ours, loaded.slice(0, 2)), []);
});

test('the warning names each program and what to do', () => {
  assert.equal(
    duplicateProgramsWarning('tcp_lifecycle', [{ id: 9, name: 'tcp_lifecycle_s' }]),
    '1 BPF program(s) of another tcp_lifecycle receiver are already loaded: tcp_lifecycle_s (id 9). Another tcpscope agent on this host ' +
      '(or a second tcp_lifecycle receiver in this one) reports the same connections, so backends receive everything twice: run one agent ' +
      'per host (`bpftool prog show id <id> --json` names the process holding it).',
  );
});
