/**
 * XML Schema validation of SAML documents with libxml2 (xmllint compiled to WebAssembly,
 * `xmllint-wasm`), against the OASIS SAML 2.0 schemas and the W3C schemas they import, committed
 * in src/saml/schemas (see its NOTICE.md). Security-bar §1 "samlify: since 2.6 a schema validator
 * must be registered; a stub that always resolves silently disables it".
 *
 * The document is pre-scanned by the hardened rules first (harden.ts: no DOCTYPE, no entities,
 * bounded size and depth), so libxml2 never sees a declaration to expand; the WebAssembly sandbox
 * has no file system beyond the schema files handed to it and no network.
 *
 * Each validation runs xmllint in a worker thread (xmllint-wasm's design); at most
 * `MAX_CONCURRENT` run at once and at most `MAX_WAITING` wait, so a flood of messages cannot
 * start unbounded workers: beyond that the message is refused as if invalid.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateXML, type XMLFileInfo } from 'xmllint-wasm';
import { AppError } from '../../shared/errors.js';
import { scanXml, xmlRefused, SAML_MESSAGE_MAX_BYTES } from './harden.js';

export type SamlSchemaKind = 'protocol' | 'metadata';

const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
} as const;

const MAIN_SCHEMA: Record<SamlSchemaKind, string> = {
  protocol: 'saml-schema-protocol-2.0.xsd',
  metadata: 'saml-schema-metadata-2.0.xsd',
};

/**
 * `src/saml/schemas`, from src/saml/xml (tsx) or dist/saml/xml (build): the build does not copy
 * non-TypeScript files, so the source folder at the project root is the fallback.
 */
function schemaDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '..', 'schemas'), path.resolve(here, '..', '..', '..', 'src', 'saml', 'schemas')];
  const found = candidates.find((d) => existsSync(path.join(d, MAIN_SCHEMA.protocol)));
  if (!found) throw new Error(`SAML XML schemas not found (looked in ${candidates.join(', ')})`);
  return found;
}

let schemaFiles: XMLFileInfo[] | undefined;

/** The schema files, read once (about 100 KB). */
function loadSchemas(): XMLFileInfo[] {
  if (!schemaFiles) {
    const dir = schemaDir();
    schemaFiles = readdirSync(dir)
      .filter((f) => f.endsWith('.xsd') || f.endsWith('.dtd'))
      .sort()
      .map((fileName) => ({ fileName, contents: readFileSync(path.join(dir, fileName), 'utf8') }));
  }
  return schemaFiles;
}

const MAX_CONCURRENT = 2;
const MAX_WAITING = 64;
let running = 0;
const waiting: Array<() => void> = [];

async function withSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) {
    if (waiting.length >= MAX_WAITING) throw xmlRefused('too many documents waiting for schema validation');
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else {
    running += 1;
  }
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

function rootNamespace(xml: string): string | undefined {
  // The pre-scan has accepted the document: its first `<` that is not the declaration opens the root.
  const m = /<(?!\?)([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)([^>]*)>/.exec(xml);
  if (!m) return undefined;
  const prefix = m[1]?.slice(0, -1);
  const attr = prefix ? new RegExp(`xmlns:${prefix}\\s*=\\s*("([^"]*)"|'([^']*)')`) : /xmlns\s*=\s*("([^"]*)"|'([^']*)')/;
  const a = attr.exec(m[3] ?? '');
  return a ? (a[2] ?? a[3]) : undefined;
}

export interface SchemaValidationOptions {
  maxBytes?: number;
  /** Metadata written by hand may carry comments; protocol messages may not (harden.ts). */
  allowComments?: boolean;
}

/**
 * Resolves when `xml` is hardened-valid and schema-valid as a SAML protocol message (root in the
 * protocol namespace) or as SAML metadata (root in the metadata namespace); otherwise rejects with
 * `xmlRefused(...)` naming the first schema error.
 */
export async function validateSamlSchema(xml: string, kind: SamlSchemaKind, options: SchemaValidationOptions = {}): Promise<void> {
  scanXml(xml, { maxBytes: options.maxBytes ?? SAML_MESSAGE_MAX_BYTES, allowComments: options.allowComments ?? false });
  if (rootNamespace(xml) !== NS[kind]) throw xmlRefused(`the root element is not in the SAML ${kind} namespace`);
  const preload = loadSchemas();
  const main = preload.find((f) => f.fileName === MAIN_SCHEMA[kind]);
  if (!main) throw new AppError('INTERNAL', `schema ${MAIN_SCHEMA[kind]} missing`);
  const result = await withSlot(() =>
    validateXML({
      xml: [{ fileName: 'message.xml', contents: xml }],
      schema: [main],
      preload: preload.filter((f) => f !== main),
      // Room for a 1 MiB document and its tree; the default 32 MiB cap stays.
      initialMemoryPages: 256,
    }),
  ).catch((err: unknown) => {
    if (err instanceof AppError) throw err;
    throw xmlRefused('schema validation failed to run', err);
  });
  if (!result.valid) {
    const first = result.errors[0]?.message ?? 'not valid';
    throw xmlRefused(`not valid against the SAML 2.0 ${kind} schema: ${first.slice(0, 300)}`);
  }
}
