// service.telemetry.health.endpoint: where the health endpoint listens.

export interface HealthEndpoint {
  readonly host: string;
  readonly port: number;
}

/** `host:port` or `[v6]:port`, as the Collector writes endpoints. Throws an Error saying what was expected (the config validation adds what was given). */
export function parseHealthEndpoint(text: string): HealthEndpoint {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  if (!match) throw new Error(`must be host:port (e.g. "0.0.0.0:13133", "127.0.0.1:0" or "[::]:13133")`);
  const port = Number(match[3]);
  if (port > 65535) throw new Error('must be host:port with a port in 0..65535');
  return { host: match[1] ?? match[2], port };
}
