// Typed errors with stable codes. Each carries what happened and what to do about it; the CLI
// prints `code: message` and exits non-zero.

export class TcpscopeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The config is wrong: `path` names the key (e.g. `receivers.tcp_lifecycle.ring_buffer_size`). */
export class ConfigError extends TcpscopeError {
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('CONFIG_INVALID', path ? `${path}: ${message}` : message, options);
  }
}

/** A BPF object could not be opened, loaded or attached. `errno` is libbpf's (positive) errno. */
export class BpfLoadError extends TcpscopeError {
  constructor(
    readonly errno: number,
    message: string,
    readonly verifierLog?: string,
  ) {
    super('BPF_LOAD_FAILED', message);
  }
}

/** An exporter could not deliver data. */
export class ExportError extends TcpscopeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EXPORT_FAILED', message, options);
  }
}

/** The health endpoint (service.telemetry.health) could not listen. */
export class HealthEndpointError extends TcpscopeError {
  constructor(message: string, cause?: unknown) {
    super('HEALTH_ENDPOINT_FAILED', message, { cause });
  }
}
