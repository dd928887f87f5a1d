/**
 * Runs the real entry point (src/main.ts) as a child process, as `npm start` does, and waits for
 * it to listen. Used by the start-up, bootstrap and shutdown tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/db/bundled.js';

export interface RunningGatehouse {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  output(): string;
  exited: Promise<number | null>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export function runMain(env: Record<string, string>): { child: ChildProcess; output(): string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'main.ts')], {
    cwd: PROJECT_ROOT,
    // A clean environment: only what the test gives (plus PATH/HOME for the engine script).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export async function startMain(env: Record<string, string>, timeoutMs = 180_000): Promise<RunningGatehouse> {
  const port = await freePort();
  const run = runMain({ PORT: String(port), HOST: '127.0.0.1', ...env });
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void run.exited.then((c) => (exitCode = c));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`gatehouse exited with ${exitCode} before listening:\n${run.output()}`);
    if (run.output().includes('Gatehouse is listening')) {
      return { ...run, port, baseUrl: `http://127.0.0.1:${port}` };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  run.child.kill('SIGKILL');
  throw new Error(`gatehouse did not listen within ${timeoutMs} ms:\n${run.output()}`);
}

export async function stopMain(g: { child: ChildProcess; exited: Promise<number | null> }): Promise<number | null> {
  if (g.child.exitCode === null) g.child.kill('SIGTERM');
  return g.exited;
}
