/**
 * Root hooks for the whole suite (.mocharc.json `require`): stop the bundled engine the run
 * started, so no PostgreSQL or FerretDB process outlives `npm test`.
 */
import { stopSharedEngine } from './engine.js';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedEngine();
  },
};
