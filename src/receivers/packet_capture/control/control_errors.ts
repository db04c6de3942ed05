// Errors of the control channel itself (the service's own are CaptureError, capture_api.ts).
import { TcpscopeError } from '../../../errors';

export type ControlErrorCode =
  | 'CAPTURE_NO_RECEIVER' // the agent runs no packet_capture receiver (or not the one named)
  | 'CAPTURE_AGENT_UNREACHABLE' // nothing listens at the control socket
  | 'CAPTURE_CONTROL_FAILED'; // the socket could not be served, or an answer made no sense

export class ControlError extends TcpscopeError {
  constructor(
    override readonly code: ControlErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
