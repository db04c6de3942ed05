// `tcpscope run --config <file>` with the stand-in packet_capture receiver (capture_stand_in.ts)
// in the registry: the real agent (config, control socket, schedule, k8s_attributes) for the
// control channel's tests where the real capture engine is absent. argv: <config>.
import { runUntilStopped } from '../../src/cli';
import { FACTORIES } from '../../src/components';
import { FactoryRegistry } from '../../src/pipeline/registry';
import { standInCaptureFactory } from './capture_stand_in';

const [configPath] = process.argv.slice(2);
runUntilStopped({ configPath, registry: new FactoryRegistry([...FACTORIES, standInCaptureFactory]) }).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tcpscope: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
