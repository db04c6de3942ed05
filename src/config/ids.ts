// Parsing of `type[/name]` component ids and `signal[/name]` pipeline ids, as in the Collector.
import { SIGNALS, type ComponentId, type Signal } from '../component';
import type { PipelineId } from './types';

/** A component type: lower_snake_case, equal to its folder name and BPF file stem. */
export const COMPONENT_TYPE = /^[a-z][a-z0-9_]*$/;
// Names are free-form labels but must stay readable in key paths and logs.
const NAME = /^[A-Za-z0-9_.-]+$/;

/** Returns the id, or a sentence saying what is wrong with `text`. */
export function parseComponentId(text: string): ComponentId | string {
  const slash = text.indexOf('/');
  const type = slash < 0 ? text : text.slice(0, slash);
  const name = slash < 0 ? undefined : text.slice(slash + 1);
  if (!COMPONENT_TYPE.test(type)) {
    return `invalid component id "${text}": the type must be lower_snake_case, as in tcp_lifecycle or tcp_lifecycle/name`;
  }
  if (name !== undefined && !NAME.test(name)) {
    return `invalid component id "${text}": the name after "/" must be non-empty and use only letters, digits, "_", "." or "-"`;
  }
  return name === undefined ? { type, text } : { type, name, text };
}

/** Returns the id, or a sentence saying what is wrong with `text`. */
export function parsePipelineId(text: string): PipelineId | string {
  const slash = text.indexOf('/');
  const signal = slash < 0 ? text : text.slice(0, slash);
  const name = slash < 0 ? undefined : text.slice(slash + 1);
  if (!isSignal(signal)) {
    return `unknown pipeline type "${signal}"; expected ${SIGNALS.join(' or ')}, optionally followed by /<name>`;
  }
  if (name !== undefined && !NAME.test(name)) {
    return `invalid pipeline id "${text}": the name after "/" must be non-empty and use only letters, digits, "_", "." or "-"`;
  }
  return name === undefined ? { signal, text } : { signal, name, text };
}

function isSignal(text: string): text is Signal {
  return (SIGNALS as readonly string[]).includes(text);
}
