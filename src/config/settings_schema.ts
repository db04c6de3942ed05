// How a component's convict schema is read, by validation (component_settings.ts) and by the
// README table generator (scripts/config_docs.ts) alike: convict's own rule for what is a section
// and what a leaf, written once so that the two cannot disagree about a schema.
import { isPlainMap } from './keypath';

/** A convict schema as factories write it: nested sections and leaves (`{default, format, doc}` or a bare default). */
export type SettingsSchema = object;

export interface SettingsLeaf {
  readonly default: unknown;
  readonly format?: unknown;
  readonly doc?: string;
  /** convict's flag for secrets (tokens, passwords): their values never appear in a message. */
  readonly sensitive?: boolean;
}

/** convict's rule: a non-empty plain object without `default` is a section, anything else a leaf. */
export function isSchemaSection(node: unknown): node is Record<string, unknown> {
  return isPlainMap(node) && Object.keys(node).length > 0 && !('default' in node);
}

/** A leaf node as `{default, ...}`: a bare default stands for `{default: node}`. */
export function asSchemaLeaf(node: unknown): SettingsLeaf {
  return isPlainMap(node) && 'default' in node ? (node as unknown as SettingsLeaf) : { default: node };
}

export interface SchemaLeafEntry {
  /** The keys from the top of the schema down to the leaf. */
  readonly path: readonly string[];
  readonly leaf: SettingsLeaf;
}

/** Every leaf of a schema (or of one of its sections) in schema order, nested sections flattened. */
export function schemaLeaves(schema: SettingsSchema, prefix: readonly string[] = []): SchemaLeafEntry[] {
  return Object.entries(schema as Record<string, unknown>).flatMap(([key, node]) =>
    isSchemaSection(node) ? schemaLeaves(node, [...prefix, key]) : [{ path: [...prefix, key], leaf: asSchemaLeaf(node) }],
  );
}
