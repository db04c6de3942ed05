// The CLI's side of the control socket (control_server.ts): one JSON request per call, errors
// turned into typed errors whose message says what to do.
import * as http from 'node:http';
import { TcpscopeError } from '../../../errors';
import type { ControlStartRequest } from './capture_input';
import type { ControlCaptureStatus } from './capture_starter';
import { ControlError } from './control_errors';

/** Where an agent listens unless its config says otherwise (service.capture.control.socket). */
export const DEFAULT_CONTROL_SOCKET = '/run/tcpscope/capture.sock';

/** An error the agent answered with; `code` is its stable code (CAPTURE_INVALID_REQUEST, ...). */
export class AgentAnswerError extends TcpscopeError {
  constructor(
    code: string,
    message: string,
    readonly httpStatus: number,
  ) {
    super(code, message);
  }
}

/** How long the CLI waits for one answer that is not a long-poll. */
const ANSWER_TIMEOUT_MS = 60_000;

export class ControlClient {
  constructor(readonly socketPath: string = DEFAULT_CONTROL_SOCKET) {}

  async start(request: ControlStartRequest): Promise<ControlCaptureStatus> {
    return (await this.call<{ capture: ControlCaptureStatus }>('POST', '/v1/captures', request)).capture;
  }

  async list(): Promise<ControlCaptureStatus[]> {
    return (await this.call<{ captures: ControlCaptureStatus[] }>('GET', '/v1/captures')).captures;
  }

  /** The capture's status; with waitMs, once it has ended or after waitMs, whichever comes first. */
  async get(id: string, waitMs = 0): Promise<ControlCaptureStatus> {
    const query = waitMs > 0 ? `?wait=${waitMs}` : '';
    return (await this.call<{ capture: ControlCaptureStatus }>('GET', `/v1/captures/${encodeURIComponent(id)}${query}`, undefined, waitMs)).capture;
  }

  async stop(id: string): Promise<ControlCaptureStatus> {
    return (await this.call<{ capture: ControlCaptureStatus }>('POST', `/v1/captures/${encodeURIComponent(id)}/stop`)).capture;
  }

  private call<T>(method: string, path: string, body?: unknown, extraWaitMs = 0): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socketPath, method, path, headers: text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => reject(this.unreachable(error)));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(new ControlError('CAPTURE_CONTROL_FAILED', `${this.socketPath} answered ${res.statusCode} with a body that is not JSON: is it a tcpscope agent's capture control socket?`));
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve(parsed as T);
              return;
            }
            const error = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
            const code = typeof error?.code === 'string' ? error.code : 'CAPTURE_CONTROL_FAILED';
            const message = typeof error?.message === 'string' ? error.message : `the agent answered ${status}`;
            reject(new AgentAnswerError(code, message, status));
          });
        },
      );
      req.setTimeout(ANSWER_TIMEOUT_MS + extraWaitMs, () => req.destroy(new Error(`no answer within ${(ANSWER_TIMEOUT_MS + extraWaitMs) / 1000} s`)));
      req.on('error', (error) => reject(this.unreachable(error)));
      req.end(text);
    });
  }

  private unreachable(error: Error): ControlError {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') {
      return new ControlError(
        'CAPTURE_AGENT_UNREACHABLE',
        `no tcpscope agent is listening at ${this.socketPath} (${code}). Start one whose config has a packet_capture receiver: sudo bin/tcpscope run --config <file>; if it runs with another service.capture.control.socket, pass that path with --socket`,
        { cause: error },
      );
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return new ControlError('CAPTURE_AGENT_UNREACHABLE', `permission denied on ${this.socketPath}: the capture control socket is root-only; run the command as root (sudo bin/tcpscope capture ...)`, { cause: error });
    }
    return new ControlError('CAPTURE_AGENT_UNREACHABLE', `the agent at ${this.socketPath} did not answer: ${error.message}`, { cause: error });
  }
}
