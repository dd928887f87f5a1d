/**
 * Liveness and readiness. `/healthz` says the process is up (restart it if not); `/readyz` says
 * it can serve (the database answers a ping): load balancers stop sending traffic on 503 and
 * resume when it returns 200.
 */
import { Router } from 'express';

export interface ReadinessProbe {
  ping(timeoutMs?: number): Promise<boolean>;
}

export function healthRoutes(db: ReadinessProbe | undefined): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    (db ? db.ping() : Promise.resolve(false))
      .then((ok) => {
        res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'unavailable', checks: { database: ok ? 'ok' : 'unreachable' } });
      })
      .catch(next);
  });
  return router;
}
