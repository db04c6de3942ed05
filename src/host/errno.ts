// errno numbers from the kernel as the names OpenTelemetry's error.type uses (ECONNREFUSED...),
// from Node's own table for this platform.
import { constants } from 'node:os';

const NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));

export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}
