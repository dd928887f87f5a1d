/**
 * The OpenAPI 3.1 document of the admin REST API (`GET /api/v1/openapi.json`), generated from
 * the same route specs and zod schemas that validate requests, so it cannot drift from what the
 * server accepts. Each operation names the catalog action that gates it (`x-ncp-action`).
 */
import { z, type ZodType } from 'zod';
import type { AdminRouteSpec } from './admin-route.js';

export interface ApiGroup {
  prefix: string;
  tag: string;
  routes: readonly AdminRouteSpec[];
}

type JsonSchema = Record<string, unknown>;

function schemaOf(type: ZodType | undefined): JsonSchema | undefined {
  if (!type) return undefined;
  try {
    return z.toJSONSchema(type, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return { type: 'object' };
  }
}

function parametersOf(spec: AdminRouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, type] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    const s = schemaOf(type);
    const props = (s?.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((s?.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries(props)) {
      out.push({ name, in: where, required: where === 'path' || required.has(name), schema });
    }
  }
  return out;
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['errorCode', 'message', 'detail', 'fieldErrors'],
      properties: {
        errorCode: { type: 'string' },
        message: { type: 'string' },
        detail: { type: ['string', 'null'] },
        fieldErrors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
      },
    },
  },
};

export function buildOpenApi(groups: readonly ApiGroup[], baseUrl: string, version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const g of groups) {
    for (const spec of g.routes) {
      const path = g.prefix + spec.path.replace(/:([A-Za-z]+)/g, '{$1}');
      const body = schemaOf(spec.body);
      const op: JsonSchema = {
        tags: [g.tag],
        summary: spec.summary,
        operationId: `${spec.method}${path.replace(/[^A-Za-z0-9]+/g, '_')}`,
        'x-ncp-action': spec.action,
        parameters: parametersOf(spec),
        ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: body } } } } : {}),
        responses: {
          [String(spec.status ?? 200)]: { description: 'Success' },
          '400': { description: 'Invalid input', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
          '401': { description: 'Not authenticated', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
          '403': { description: `Not allowed: the caller's policies do not allow ${spec.action}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
        security: [{ ncpSignature: [] }, { consoleSession: [] }],
      };
      (paths[path] ??= {})[spec.method] = op;
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse admin API', version, description: 'Every operation is authorized by the policy action named in x-ncp-action.' },
    servers: [{ url: baseUrl }],
    paths,
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: {
        ncpSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'x-ncp-iam-access-key',
          description:
            'Ncloud signature v2: also send x-ncp-apigw-timestamp (ms) and x-ncp-apigw-signature-v2 = Base64(HMAC-SHA256(secret, "METHOD path?query\\ntimestamp\\naccessKey")).',
        },
        consoleSession: { type: 'apiKey', in: 'cookie', name: 'gh_console', description: 'Console session; writes also need the X-CSRF-Token header.' },
      },
    },
  };
}
