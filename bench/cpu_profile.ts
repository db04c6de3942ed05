// A preload that profiles the agent once its BPF programs are loaded:
//
//   TCPSCOPE_CPU_PROFILE=/tmp/agent.cpuprofile node -r ./dist/bench/cpu_profile.js \
//     bin/tcpscope.js run --config CONFIG &
//   # once the agent logs "attached":
//   kill -USR2 <pid>          # starts V8's CPU profiler
//   kill -TERM <pid>          # the profile is written as the agent exits
//
// `node --cpu-prof` cannot be used for the agent: the profiler's SIGPROF interrupts the BPF
// verifier, which then fails the program load with EAGAIN. Open the file in Chrome DevTools or
// sum its self time per function (docs/benchmarks.md, "The agent in otlp mode, profiled").
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const path = process.env.TCPSCOPE_CPU_PROFILE;
if (path) {
  const session = new Session();
  session.connect();
  let started = false;
  process.on('SIGUSR2', () => {
    if (started) return;
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 1000 }, () =>
        session.post('Profiler.start', () => {
          started = true;
        }),
      ),
    );
  });
  // A session on the main thread answers synchronously, so the profile is written before exit.
  process.on('exit', () => {
    if (!started) return;
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(path, JSON.stringify(result.profile));
    });
  });
}
