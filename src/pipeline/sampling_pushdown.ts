// Which sampling predicate a receiver may evaluate where its events are born (the kernel), given
// the logs pipelines it feeds. Correct before clever: the receiver may drop an event only when
// every one of its logs pipelines would drop it, so a predicate is pushed down only when each
// pipeline applies one before anything that could add events or change what it reads, and all
// of them apply the same one.
import { isDeepStrictEqual } from 'node:util';
import type { LogsStreamEffect } from '../component';
import type { PipelineSpec, ValidatedConfig } from '../config/types';
import type { SamplingPredicate } from '../telemetry/sampling_predicate';
import type { FactoryRegistry } from './registry';

export interface SamplingPushdown {
  /** The predicate to push down, when there is one. */
  readonly sampling?: SamplingPredicate;
  /** Why none is pushed down although a pipeline of the receiver samples (for the log). */
  readonly notPushedDown?: string;
}

type PipelinePredicate = { readonly sampling: SamplingPredicate } | { readonly reason: string };

function effectOf(text: string, config: ValidatedConfig, registry: FactoryRegistry): LogsStreamEffect<unknown> | undefined {
  const spec = config.processors.get(text);
  return spec && registry.get('processor', spec.id.type)?.logsEffect;
}

/** The first sampling predicate of a pipeline, if only pass-through processors come before it. */
function pipelinePredicate(pipeline: PipelineSpec, config: ValidatedConfig, registry: FactoryRegistry): PipelinePredicate {
  for (const text of pipeline.processors) {
    const effect = effectOf(text, config, registry);
    if (effect?.kind === 'samples') return { sampling: effect.predicate(config.processors.get(text)?.config) };
    if (effect?.kind !== 'passes_through') {
      return { reason: `processor "${text}" comes before any sampling in pipeline ${pipeline.id.text} and may change events` };
    }
  }
  return { reason: `pipeline ${pipeline.id.text} does not sample` };
}

/**
 * Whether any logs pipeline `receiver` feeds has a sampling processor, wherever it stands: then the
 * receiver's records carry what sampling reads (the kernel's connection hash), else they need not.
 */
export function logsPipelinesSample(receiver: string, config: ValidatedConfig, registry: FactoryRegistry): boolean {
  return config.pipelines.some(
    (p) => p.id.signal === 'logs' && p.receivers.includes(receiver) && p.processors.some((text) => effectOf(text, config, registry)?.kind === 'samples'),
  );
}

export function samplingPushdownFor(receiver: string, config: ValidatedConfig, registry: FactoryRegistry): SamplingPushdown {
  if (!logsPipelinesSample(receiver, config, registry)) return {};
  const pipelines = config.pipelines.filter((p) => p.id.signal === 'logs' && p.receivers.includes(receiver));
  const predicates: { pipeline: string; sampling: SamplingPredicate }[] = [];
  for (const pipeline of pipelines) {
    const predicate = pipelinePredicate(pipeline, config, registry);
    if ('reason' in predicate) return { notPushedDown: predicate.reason };
    predicates.push({ pipeline: pipeline.id.text, sampling: predicate.sampling });
  }
  const [first, ...others] = predicates;
  const different = others.find((o) => !isDeepStrictEqual(o.sampling, first.sampling));
  if (different) return { notPushedDown: `pipelines ${first.pipeline} and ${different.pipeline} sample differently` };
  return { sampling: first.sampling };
}
