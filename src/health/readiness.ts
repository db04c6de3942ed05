// The readiness contract between components and the health endpoint (/readyz). A component that
// can be not ready after start() (a receiver before its programs attached, an exporter whose
// backend rejects everything) says so through readiness(); one without it is ready once started.
import type { Component } from '../component';

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

export interface ReportsReadiness {
  readiness(): Readiness;
}

export function reportsReadiness(component: Component): component is Component & ReportsReadiness {
  return typeof (component as Partial<ReportsReadiness>).readiness === 'function';
}

/** What /readyz answers: ready only when nothing is listed in notReady. */
export interface ReadinessReport {
  readonly ready: boolean;
  /** `receiver "tcp_lifecycle"`, `exporter "otlp"`, or `agent`, with why. */
  readonly notReady: readonly { readonly component: string; readonly reason: string }[];
}

export interface ReadinessSource {
  /** `receiver "tcp_rtt"`. */
  readonly label: string;
  readonly component: Component;
}

/**
 * The agent's readiness: `started` is false until every component's start() resolved (receivers
 * attach in start()), and false again once shutdown began; after that, each component that
 * reports readiness must be ready.
 */
export function readinessReport(state: 'starting' | 'running' | 'stopping', sources: readonly ReadinessSource[]): ReadinessReport {
  const notReady: { component: string; reason: string }[] = [];
  if (state === 'stopping') notReady.push({ component: 'agent', reason: 'shutting down' });
  for (const { label, component } of sources) {
    if (reportsReadiness(component)) {
      const readiness = component.readiness();
      if (!readiness.ready) notReady.push({ component: label, reason: readiness.reason });
    } else if (state === 'starting') {
      notReady.push({ component: label, reason: 'not started yet' });
    }
  }
  if (state === 'starting' && notReady.length === 0) notReady.push({ component: 'agent', reason: 'starting' });
  return { ready: notReady.length === 0, notReady };
}
