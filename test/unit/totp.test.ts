import { expect } from 'chai';
import { consumeTotp, matchTotpStep, newTotpSecret, totpCode, totpUri, TOTP_PERIOD_SEC } from '../../src/iam/mfa/totp.js';

describe('TOTP', () => {
  const secret = newTotpSecret();
  const now = 1_800_000_000_000;
  const step = Math.floor(now / 1000 / TOTP_PERIOD_SEC);

  it('makes 160-bit base32 secrets and an otpauth URI', () => {
    expect(secret).to.match(/^[A-Z2-7]{32}$/);
    expect(totpUri(secret, 'Gatehouse', 'admin@1000001')).to.match(/^otpauth:\/\/totp\/Gatehouse:admin%401000001\?.*secret=/);
  });

  it('accepts the current code and one step of skew either way, nothing beyond', async () => {
    const at = (offsetSteps: number) => totpCode(secret, Math.floor(now / 1000) + offsetSteps * TOTP_PERIOD_SEC);
    expect(await matchTotpStep(secret, await at(0), now)).to.equal(step);
    expect(await matchTotpStep(secret, await at(-1), now)).to.equal(step - 1);
    expect(await matchTotpStep(secret, await at(1), now)).to.equal(step + 1);
    expect(await matchTotpStep(secret, await at(-2), now)).to.equal(undefined);
    expect(await matchTotpStep(secret, await at(2), now)).to.equal(undefined);
    expect(await matchTotpStep(secret, 'abcdef', now)).to.equal(undefined);
  });

  it('accepts each code once: the step only moves forward', async () => {
    let last = 0;
    const advance = async (s: number) => {
      if (s <= last) return false;
      last = s;
      return true;
    };
    const code = await totpCode(secret, Math.floor(now / 1000));
    expect(await consumeTotp(secret, code, advance, now)).to.equal(true);
    expect(await consumeTotp(secret, code, advance, now)).to.equal(false);
    // an older (still valid) code after a newer one is refused too
    const older = await totpCode(secret, Math.floor(now / 1000) - TOTP_PERIOD_SEC);
    expect(await consumeTotp(secret, older, advance, now)).to.equal(false);
  });
});
