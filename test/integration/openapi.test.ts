import { expect } from 'chai';
import request from 'supertest';
import { SUBACCOUNT_API_PREFIX, subAccountApiRoutes } from '../../src/iam/routes.js';
import { testApp } from '../helpers/app.js';

describe('OpenAPI document of the admin API', () => {
  it('lists every admin route with the action that gates it, generated from the same schemas', async () => {
    const res = await request(testApp()).get('/api/v1/openapi.json').expect(200);
    expect(res.body.openapi).to.equal('3.1.0');
    for (const spec of subAccountApiRoutes) {
      const path = SUBACCOUNT_API_PREFIX + spec.path.replace(/:([A-Za-z]+)/g, '{$1}');
      const op = res.body.paths[path]?.[spec.method];
      expect(op, `${spec.method} ${path}`).to.be.an('object');
      expect(op['x-ncp-action']).to.equal(spec.action);
    }
    const create = res.body.paths[`${SUBACCOUNT_API_PREFIX}/sub-accounts`].post;
    const schema = create.requestBody.content['application/json'].schema;
    expect(schema.required).to.include.members(['loginId', 'name']);
    expect(schema.properties.loginId.maxLength).to.equal(60);
    expect(schema.additionalProperties).to.equal(false);
  });
});
