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
 * libxml2 runs in a small pool of long-lived worker threads (at most `POOL_SIZE`), each holding
 * the compiled WebAssembly module and the schema files: a validation instantiates a fresh xmllint
 * (its own memory and in-memory file system, so no state survives between documents) without
 * recompiling or starting a thread. xmllint-wasm's own `validateXML` starts a thread and compiles
 * the module for every call (about 150 ms on an idle core), far too slow for a per-request check.
 * At most `MAX_WAITING` documents wait; beyond that, or past `VALIDATION_TIMEOUT_MS`, a document
 * is refused as if invalid (and a stuck worker is replaced).
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AppError } from '../../shared/errors.js';
import { parseHardened, xmlRefused, SAML_MESSAGE_MAX_BYTES } from './harden.js';

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

interface SchemaFile {
  fileName: string;
  contents: string;
}

let schemaFiles: SchemaFile[] | undefined;

/** The schema files, read once (about 100 KB). */
function loadSchemas(): SchemaFile[] {
  if (!schemaFiles) {
    const dir = schemaDir();
    schemaFiles = readdirSync(dir)
      .filter((f) => f.endsWith('.xsd') || f.endsWith('.dtd'))
      .sort()
      .map((fileName) => ({ fileName, contents: readFileSync(path.join(dir, fileName), 'utf8') }));
  }
  return schemaFiles;
}

const POOL_SIZE = 2;
const MAX_WAITING = 64;
const VALIDATION_TIMEOUT_MS = 10_000;

/**
 * The worker's code (CommonJS, run with `eval`): it loads xmllint-wasm's Emscripten factory and
 * compiles the .wasm once, then answers `{ id, xml, main }` with xmllint's exit code and output.
 * Requiring xmllint-node.js also installs that package's own message listener, which ignores
 * messages without its `xmllint-wasm` tag (ours have none).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const factory = require(workerData.factoryPath);
const compiled = new WebAssembly.Module(fs.readFileSync(workerData.wasmPath));
parentPort.on('message', (msg) => {
  if (!msg || msg.gatehouse !== true) return;
  let stdout = '';
  let stderr = '';
  let done = false;
  const finish = (exitCode) => {
    if (done) return;
    done = true;
    parentPort.postMessage({ gatehouse: true, id: msg.id, exitCode, stdout, stderr });
  };
  const inputFiles = workerData.schemas.concat([{ fileName: 'message.xml', contents: msg.xml }]);
  factory({
    inputFiles,
    arguments: ['--schema', msg.main, '--noout', 'message.xml'],
    print: (t) => { stdout += t + '\\n'; },
    printErr: (t) => { stderr += t + '\\n'; },
    onExit: finish,
    onAbort: (reason) => { stderr += 'WASM Abort: ' + reason; finish(-1); },
    wasmMemory: new WebAssembly.Memory({ initial: 256, maximum: 512 }),
    instantiateWasm: (imports, receive) => {
      WebAssembly.instantiate(compiled, imports).then((instance) => receive(instance, compiled), (err) => { stderr += String(err); finish(-1); });
      return {};
    },
  }).catch((err) => { stderr += String(err); finish(-1); });
});
`;

interface XmllintOutcome {
  exitCode: number;
  stderr: string;
}

interface Job {
  id: number;
  xml: string;
  main: string;
  resolve: (o: XmllintOutcome) => void;
  reject: (e: unknown) => void;
}

class XmllintWorker {
  private readonly worker: Worker;
  private current: { job: Job; timer: NodeJS.Timeout } | undefined;
  dead = false;

  constructor(private readonly onIdle: (w: XmllintWorker) => void) {
    const require = createRequire(import.meta.url);
    const factoryPath = require.resolve('xmllint-wasm/xmllint-node.js');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // The parent's flags (a TypeScript loader, --input-type) have no business in this thread.
      execArgv: [],
      workerData: { factoryPath, wasmPath: path.join(path.dirname(factoryPath), 'xmllint.wasm'), schemas: loadSchemas() },
    });
    this.worker.on('message', (msg: { gatehouse?: boolean; id?: number; exitCode?: number; stderr?: string }) => {
      if (msg?.gatehouse !== true || !this.current || msg.id !== this.current.job.id) return;
      const { job, timer } = this.current;
      clearTimeout(timer);
      this.current = undefined;
      job.resolve({ exitCode: msg.exitCode ?? -1, stderr: msg.stderr ?? '' });
      this.onIdle(this);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', () => this.fail(new Error('xmllint worker exited')));
    // After the listeners: adding a 'message' listener refs the worker's port again, and a
    // referenced pool keeps the process (and mocha) alive after the last validation.
    this.worker.unref();
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  run(job: Job): void {
    const timer = setTimeout(() => {
      this.fail(new Error('schema validation timed out'));
      void this.worker.terminate();
    }, VALIDATION_TIMEOUT_MS);
    this.current = { job, timer };
    this.worker.postMessage({ gatehouse: true, id: job.id, xml: job.xml, main: job.main });
  }

  private fail(err: unknown): void {
    this.dead = true;
    if (this.current) {
      clearTimeout(this.current.timer);
      this.current.job.reject(err);
      this.current = undefined;
    }
    const at = pool.indexOf(this);
    if (at >= 0) pool.splice(at, 1);
    drain();
  }
}

const pool: XmllintWorker[] = [];
const waiting: Job[] = [];
let nextJobId = 1;

function drain(): void {
  while (waiting.length > 0) {
    let idle = pool.find((w) => !w.busy && !w.dead);
    if (!idle && pool.length < POOL_SIZE) {
      idle = new XmllintWorker(() => drain());
      pool.push(idle);
    }
    if (!idle) return;
    idle.run(waiting.shift()!);
  }
}

/** Runs xmllint on `xml` against the main schema file `main`; exit code 0 valid, 3/4 invalid. */
function runXmllint(xml: string, main: string): Promise<XmllintOutcome> {
  if (waiting.length >= MAX_WAITING) return Promise.reject(xmlRefused('too many documents waiting for schema validation'));
  return new Promise<XmllintOutcome>((resolve, reject) => {
    waiting.push({ id: nextJobId++, xml, main, resolve, reject });
    drain();
  });
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
  // The hardened parse (about a millisecond) both applies every rule of harden.ts and tells the
  // root element's namespace exactly, whatever its attributes contain.
  const doc = parseHardened(xml, { maxBytes: options.maxBytes ?? SAML_MESSAGE_MAX_BYTES, allowComments: options.allowComments ?? false });
  if (doc.documentElement.namespaceURI !== NS[kind]) throw xmlRefused(`the root element is not in the SAML ${kind} namespace`);
  const main = MAIN_SCHEMA[kind];
  if (!loadSchemas().some((f) => f.fileName === main)) throw new AppError('INTERNAL', `schema ${main} missing`);
  const outcome = await runXmllint(xml, main).catch((err: unknown) => {
    if (err instanceof AppError) throw err;
    throw xmlRefused('schema validation failed to run', err);
  });
  // xmllint: 0 valid, 3 or 4 not valid against the schema; anything else means it could not judge,
  // which refuses the document too (never a pass by default).
  const result = { valid: outcome.exitCode === 0, errors: outcome.exitCode === 3 || outcome.exitCode === 4 ? schemaErrors(outcome.stderr) : [`xmllint exit ${outcome.exitCode}: ${outcome.stderr.slice(0, 200)}`] };
  if (!result.valid) {
    const first = result.errors[0] ?? 'not valid';
    throw xmlRefused(`not valid against the SAML 2.0 ${kind} schema: ${first.slice(0, 300)}`);
  }
}

/** xmllint's error lines (`message.xml:1: Schemas validity error : …`), without the file and line. */
function schemaErrors(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.trim() && !/ validates$| fails to validate$/.test(l.trim()))
    .map((l) => l.replace(/^[^:]*:\d+:\s*/, '').trim());
}
