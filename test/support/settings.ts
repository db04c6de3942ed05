import type { CreateSettings } from '../../src/component';
import { createLogger } from '../../src/logger';
import { agentResource } from '../../src/resource';

export function testSettings(type: string, name?: string): CreateSettings {
  const text = name ? `${type}/${name}` : type;
  return { id: { type, name, text }, resource: agentResource(), logger: createLogger(process.env.TCPSCOPE_TEST_LOG ? 'debug' : 'warn').child(text) };
}
