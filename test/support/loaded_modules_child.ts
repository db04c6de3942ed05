// `node loaded_modules_child.js CONFIG`: starts the agent in-process with the shipped factories
// plus a stand-in `source` receiver (no kernel needed), prints one JSON line with the packages in
// require.cache once it runs, and stops it. src/module_loading.test.ts reads that line to check
// that code a config does not use is never loaded.
import type { ReceiverFactory } from '../../src/component';
import { runAgent } from '../../src/agent';
import { FACTORIES } from '../../src/components';
import { FactoryRegistry } from '../../src/pipeline';

const source: ReceiverFactory = {
  kind: 'receiver',
  type: 'source',
  signals: ['metrics', 'logs'],
  schema: {},
  create: () => ({ start: async () => undefined, shutdown: async () => undefined }),
};

/** `@scope/name` or `name` of every node_modules package with a file in require.cache. */
export function loadedPackages(files: readonly string[]): string[] {
  const names = new Set<string>();
  for (const file of files) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(file);
    if (match) names.add(match[1]);
  }
  return [...names].sort();
}

async function main(configPath: string): Promise<void> {
  const agent = await runAgent({ configPath, registry: new FactoryRegistry([...FACTORIES, source]), env: {}, writeLog: () => undefined });
  const files = Object.keys(require.cache);
  process.stdout.write(JSON.stringify({ packages: loadedPackages(files), files }) + '\n');
  process.exitCode = await agent.stop('measured');
}

main(process.argv[2]).catch((error: Error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
