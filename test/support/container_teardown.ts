// One ordered teardown for a container test. node:test runs t.after hooks first-registered
// first and skips the remaining ones once a hook throws, so separate hooks would (a) remove a
// pod cgroup before the containers inside it and (b) leak every container and process registered
// after a hook that failed. Here every step runs, last-added first (a container is added after
// the cgroup it lives in, so it goes first), and the errors are reported together at the end.
import type { TestContext } from 'node:test';

export class Teardown {
  private readonly steps: { readonly what: string; readonly run: () => void | Promise<void> }[] = [];

  constructor(readonly t: TestContext) {
    t.after(() => this.runAll());
  }

  /** Adds a step; steps run in reverse order of adding. `run` must tolerate a half-made resource. */
  add(what: string, run: () => void | Promise<void>): void {
    this.steps.push({ what, run });
  }

  private async runAll(): Promise<void> {
    const errors: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        errors.push(`${step.what}: ${(error as Error).message}`);
      }
    }
    if (errors.length > 0) throw new Error(`teardown failed:\n${errors.join('\n')}`);
  }
}
