// The logs sender over TLS (tls.insecure: false) against a real TLS gRPC server on loopback: the
// server's certificate is verified against the default roots, which grpc-js takes from
// GRPC_DEFAULT_SSL_ROOTS_FILE_PATH when set. grpc-js reads that variable when it is loaded, so the
// exchange runs in a child process started with it; the certificate is a throwaway self-signed
// one for `localhost`, made with openssl in a temporary directory.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const CHILD = `
const { readFileSync } = require('node:fs');
const grpc = require('@grpc/grpc-js');
const { createEncodedLogsSender, LOGS_EXPORT_PATH } = require(process.env.SENDER_MODULE);
(async () => {
  const dir = process.env.CERT_DIR;
  let received = 0;
  const identity = (b) => b;
  const server = new grpc.Server();
  server.addService(
    { Export: { path: LOGS_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    { Export: (call, callback) => { received += call.request.length; callback(null, Buffer.alloc(0)); } },
  );
  const credentials = grpc.ServerCredentials.createSsl(null, [{ private_key: readFileSync(dir + '/key.pem'), cert_chain: readFileSync(dir + '/cert.pem') }]);
  const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (e, p) => (e ? reject(e) : resolve(p))));
  const settings = { endpoint: 'localhost:' + port, insecure: false, headers: {}, compression: 'gzip', timeoutMs: 20000, queueSize: 1, queueBytes: 1024,
    retry: { enabled: false, initialIntervalMs: 1, maxIntervalMs: 1, maxElapsedTimeMs: 0, multiplier: 1, randomizationFactor: 0 } };
  const sender = createEncodedLogsSender(settings);
  const bytes = Buffer.from([0x0a, 0x00]); // one empty ResourceLogs
  const outcome = await sender.send({ parts: [bytes], size: bytes.length, records: 1 });
  await sender.shutdown();
  server.forceShutdown();
  process.stdout.write(JSON.stringify({ outcome, received }));
})().catch((e) => { process.stderr.write(String(e && e.stack)); process.exit(1); });
`;

function exchange(certDir: string, roots: string | undefined): { outcome: { kind: string; reason?: string }; received: number } {
  const env: NodeJS.ProcessEnv = { ...process.env, CERT_DIR: certDir, SENDER_MODULE: join(__dirname, 'logs_grpc_sender.js') };
  delete env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH;
  if (roots) env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = roots;
  const run = spawnSync(process.execPath, ['-e', CHILD], { env, cwd: __dirname, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `child failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { outcome: { kind: string; reason?: string }; received: number };
}

describe('logs sender over TLS', () => {
  it('delivers to a server whose certificate the roots vouch for, and refuses one they do not', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpscope-otlp-tls-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });

    const trusted = exchange(dir, join(dir, 'cert.pem'));
    assert.deepStrictEqual(trusted, { outcome: { kind: 'sent' }, received: 2 });

    // The system roots do not know a self-signed certificate: the handshake fails, retryably.
    const untrusted = exchange(dir, undefined);
    assert.equal(untrusted.outcome.kind, 'retryable', JSON.stringify(untrusted));
    assert.ok(untrusted.outcome.reason?.startsWith('UNAVAILABLE: '), untrusted.outcome.reason);
    assert.equal(untrusted.received, 0);
  });
});
