/**
 * What the protocol benchmarks share: command-line numbers, and a closed-loop run of N
 * concurrent workers for a fixed time that reports operations per wall-clock second and per
 * CPU-second of this process ("per core").
 */
export function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name} needs a positive number`);
    process.exit(2);
  }
  return n;
}

export interface Measured {
  count: number;
  wallSec: number;
  cpuSec: number;
}

export async function measure(seconds: number, concurrency: number, one: () => Promise<void>): Promise<Measured> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await one();
        count++;
      }
    }),
  );
  const wallSec = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { count, wallSec, cpuSec: (cpu.user + cpu.system) / 1e6 };
}

export const perCore = (m: Measured): number => m.count / m.cpuSec;
export const perSec = (m: Measured): number => m.count / m.wallSec;
