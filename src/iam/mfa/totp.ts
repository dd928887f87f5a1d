/**
 * TOTP second factor (RFC 6238; security-bar §4 "TOTP"), through otplib v13: 30-second steps,
 * 6 digits, SHA-1 (what authenticator apps speak), at most one step of skew either way, and each
 * code accepted once: the caller stores the last accepted step and moves it forward with a
 * compare-and-set, so a replayed or concurrent second use of a code fails (RFC 6238 §5.2,
 * ASVS 2.8.4). Secrets are 160-bit, kept envelope-encrypted by the caller.
 */
import { generateSecret, generateURI, verify, generate } from 'otplib';

export const TOTP_PERIOD_SEC = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function totpUri(secret: string, issuer: string, label: string): string {
  return generateURI({ issuer, label, secret });
}

/** The code for a moment (tests, and enrollment screens that show the next code). */
export function totpCode(secret: string, epochSec = Math.floor(Date.now() / 1000)): Promise<string> {
  return generate({ secret, epoch: epochSec });
}

/**
 * The time step a code belongs to, if it is valid now (±1 step), else undefined. Does not
 * consume the code: pair it with a compare-and-set on the owner's last accepted step.
 */
export async function matchTotpStep(secret: string, token: string, nowMs = Date.now()): Promise<number | undefined> {
  if (!/^\d{6}$/.test(token)) return undefined;
  const epoch = Math.floor(nowMs / 1000);
  const res = await verify({ secret, token, epoch, epochTolerance: TOTP_PERIOD_SEC });
  if (!res.valid) return undefined;
  const delta = 'delta' in res && typeof res.delta === 'number' ? res.delta : 0;
  return Math.floor(epoch / TOTP_PERIOD_SEC) + delta;
}

/**
 * Verifies and consumes a code. `advance(step)` must atomically move the stored last step to
 * `step` only if it is lower (e.g. `updateOne({ …, mfaLastStep: { $lt: step } }, { $set: { mfaLastStep: step } })`)
 * and say whether it did.
 */
export async function consumeTotp(secret: string, token: string, advance: (step: number) => Promise<boolean>, nowMs = Date.now()): Promise<boolean> {
  const step = await matchTotpStep(secret, token, nowMs);
  if (step === undefined) return false;
  return advance(step);
}
