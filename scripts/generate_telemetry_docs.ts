// Writes docs/telemetry.md from src/telemetry/ (npm run docs:telemetry).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths';
import { renderTelemetryDoc } from '../src/telemetry/doc';

const target = join(PACKAGE_ROOT, 'docs', 'telemetry.md');
writeFileSync(target, renderTelemetryDoc());
process.stderr.write(`wrote ${target}\n`);
