// What the agent runs for captures besides the receivers themselves: the control socket that
// `tcpscope capture` talks to and the config's schedule. Started once the receivers have started
// (they register their services then), stopped before they shut down (no capture is started
// during shutdown).
import type { AgentLogger } from '../../../logger';
import { runningClusterViews } from '../../../processors/k8s_attributes/shared_view';
import { captureServices, type CaptureServiceRegistry } from '../capture_api';
import { CaptureStarter } from './capture_starter';
import type { CaptureSettings } from './config';
import { ControlServer } from './control_server';
import { PodCgroupResolver } from './pod_cgroups';
import { CaptureSchedule } from './schedule';

export interface CaptureControlOptions {
  readonly settings: CaptureSettings;
  readonly logger: AgentLogger;
  /** The host's cgroup2 root as the agent found it (pods resolve to directories under it). */
  readonly cgroupRoot: string | undefined;
  /** The agent process's registry unless a test gives its own. */
  readonly registry?: CaptureServiceRegistry;
}

export interface RunningCaptureControl {
  stop(): Promise<void>;
}

export async function startCaptureControl(options: CaptureControlOptions): Promise<RunningCaptureControl> {
  const starter = new CaptureStarter(options.registry ?? captureServices, new PodCgroupResolver(runningClusterViews, options.cgroupRoot));
  const server = options.settings.control.socket === '' ? undefined : new ControlServer(options.settings.control.socket, starter, options.logger);
  await server?.start();
  if (!server) options.logger.info('capture control socket off (service.capture.control.socket is ""): bin/tcpscope capture cannot reach this agent');
  const schedule = new CaptureSchedule(options.settings.schedule, starter, options.logger);
  schedule.start();
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        schedule.stop();
        await server?.stop();
      })();
      return stopping;
    },
  };
}
