import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { z } from 'zod';
import { errorHandler, notFoundHandler } from '../../src/http/errors.js';
import { requestContext } from '../../src/http/request-context.js';
import { AppError } from '../../src/shared/errors.js';
import { silentLogger, testApp } from '../helpers/app.js';

function expectErrorShape(body: unknown, errorCode: string): void {
  expect(body).to.have.all.keys('error');
  const err = (body as { error: Record<string, unknown> }).error;
  expect(err).to.have.all.keys('errorCode', 'message', 'detail', 'fieldErrors');
  expect(err.errorCode).to.equal(errorCode);
  expect(err.message).to.be.a('string').and.not.empty;
  expect(err.fieldErrors).to.be.an('array');
}

describe('HTTP basics', () => {
  const notReady = { ping: () => Promise.resolve(false) };

  it('GET /healthz answers while the database is down (liveness is the process only)', async () => {
    const res = await request(testApp({ db: notReady })).get('/healthz').expect(200);
    expect(res.body).to.deep.equal({ status: 'ok' });
    expect(res.headers['cache-control']).to.equal('no-store');
  });

  it('GET /readyz is 503 when the database does not answer', async () => {
    const res = await request(testApp({ db: notReady })).get('/readyz').expect(503);
    expect(res.body.checks.database).to.equal('unreachable');
  });

  it('unknown routes get the error shape with 404', async () => {
    const res = await request(testApp()).get('/no/such/route').expect(404).expect('Content-Type', /json/);
    expectErrorShape(res.body, 'NOT_FOUND');
    expect(res.body.error.detail).to.equal('no route for GET /no/such/route');
  });

  it('malformed JSON on the API is a 400 in the error shape', async () => {
    const res = await request(testApp()).post('/api/v1/anything').set('Content-Type', 'application/json').send('{"a":').expect(400);
    expectErrorShape(res.body, 'MALFORMED_JSON');
  });

  it('an oversized body is a 413 in the error shape', async () => {
    const big = JSON.stringify({ a: 'x'.repeat(1_100_000) });
    const res = await request(testApp()).post('/api/v1/anything').set('Content-Type', 'application/json').send(big).expect(413);
    expectErrorShape(res.body, 'PAYLOAD_TOO_LARGE');
  });

  it('sets the security headers of an identity provider', async () => {
    const res = await request(testApp()).get('/healthz');
    expect(res.headers['x-frame-options']).to.equal('DENY');
    expect(res.headers['referrer-policy']).to.equal('no-referrer');
    expect(res.headers['content-security-policy']).to.contain("frame-ancestors 'none'").and.contain("script-src 'self'");
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers).not.to.have.property('x-powered-by');
  });

  it('returns a request id, keeping a well-formed incoming one and replacing a hostile one', async () => {
    const app = testApp();
    const fresh = await request(app).get('/healthz');
    expect(fresh.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    const kept = await request(app).get('/healthz').set('X-Request-Id', 'lb-1234567890');
    expect(kept.headers['x-request-id']).to.equal('lb-1234567890');
    const replaced = await request(app).get('/healthz').set('X-Request-Id', 'x"><script>alert(1)</script>');
    expect(replaced.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
  });

  it('exposes Prometheus metrics with latency by route template', async () => {
    const app = testApp();
    await request(app).get('/healthz').expect(200);
    await request(app).get('/nope/123').expect(404);
    const res = await request(app).get('/metrics').expect(200);
    expect(res.headers['content-type']).to.contain('text/plain');
    expect(res.text).to.match(/gatehouse_http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} 1/);
    expect(res.text).to.match(/route="unmatched",status_code="404"/);
    expect(res.text).not.to.contain('/nope/123');
    expect(res.text).to.contain('gatehouse_process_cpu_user_seconds_total');
  });

  it('does not serve /metrics when METRICS_ENABLED=false', async () => {
    await request(testApp({ env: { METRICS_ENABLED: 'false' } })).get('/metrics').expect(404);
  });

  describe('the error middleware', () => {
    function appThrowing(err: unknown) {
      const app = express();
      app.use(requestContext(silentLogger));
      app.get('/boom', () => {
        throw err;
      });
      app.use(notFoundHandler);
      app.use(errorHandler);
      return app;
    }

    it('turns an unexpected error into a generic 500 without message or stack', async () => {
      const res = await request(appThrowing(new Error('db password is hunter2'))).get('/boom').expect(500);
      expectErrorShape(res.body, 'INTERNAL');
      expect(res.text).not.to.contain('hunter2');
      expect(res.text).not.to.match(/at .*\.ts:\d+/);
      expect(res.body.error.detail).to.match(/^request id [0-9a-f-]{36}$/);
    });

    it('maps AppError codes to their status, with detail and field errors', async () => {
      const res = await request(appThrowing(new AppError('FORBIDDEN', 'SSO:Change/createUser denied'))).get('/boom').expect(403);
      expectErrorShape(res.body, 'FORBIDDEN');
      expect(res.body.error.detail).to.equal('SSO:Change/createUser denied');
    });

    it('maps zod errors to VALIDATION_FAILED with one field error per issue', async () => {
      const parsed = z.object({ loginId: z.string().email(), age: z.number() }).safeParse({ loginId: 'x', age: 'y' });
      const res = await request(appThrowing(parsed.error)).get('/boom').expect(400);
      expectErrorShape(res.body, 'VALIDATION_FAILED');
      expect(res.body.error.fieldErrors.map((f: { field: string }) => f.field)).to.deep.equal(['loginId', 'age']);
    });

    it('maps duplicate-key errors to 409 CONFLICT', async () => {
      const res = await request(appThrowing(Object.assign(new Error('E11000 duplicate key'), { code: 11000 }))).get('/boom').expect(409);
      expectErrorShape(res.body, 'CONFLICT');
      expect(res.text).not.to.contain('E11000');
    });
  });
});
