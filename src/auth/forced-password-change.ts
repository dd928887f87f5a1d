/**
 * The forced password change of the login pipeline (issue 7: `needPasswordReset`, set when an
 * admin gives a user an initial password): after every other factor, before the session. The
 * new password passes the tenant's policy (password-policy.ts, NIST SP 800-63B §3.1.1.2); the
 * write is a compare-and-set on the user's credential generation and `needPasswordReset`, and it
 * moves the generation, so sessions opened under the old password end (Keycloak's "sign out of
 * other devices" after a required password update).
 */
import { checkPasswordPolicy, hashUserPassword } from './password-policy.js';
import type { LoginSettings } from '../sso/tenant/login-settings.js';
import { SsoUser } from '../sso/users/user.model.js';
import type { LoginFlowDeps, LoginInteractionRecord, StepOutcome } from './login-flow.service.js';
import { LoginInteraction } from './login-interaction.model.js';

export type PasswordChangeOutcome = StepOutcome | { outcome: 'invalid'; reason: 'mismatch' | 'weak' };

export async function changePasswordStep(
  it: LoginInteractionRecord,
  input: { password: string; confirm: string },
  settings: Pick<LoginSettings, 'passwordMinLength'>,
  deps: Pick<LoginFlowDeps, 'logger'>,
): Promise<PasswordChangeOutcome> {
  if (it.state !== 'changePassword' || !it.userId || it.credentialGeneration == null) return { outcome: 'stale' };
  if (input.password !== input.confirm) return { outcome: 'invalid', reason: 'mismatch' };
  const user = await SsoUser.findOne({ tenantId: it.tenantId, userId: it.userId })
    .select('loginId status credentialGeneration userProfile.email userProfile.firstName userProfile.lastName')
    .lean();
  if (!user || user.status !== 'ACTIVATED' || user.credentialGeneration !== it.credentialGeneration) return { outcome: 'stale' };
  const policy = checkPasswordPolicy(input.password, {
    minLength: settings.passwordMinLength,
    context: [user.loginId, user.userProfile?.email, user.userProfile?.firstName, user.userProfile?.lastName],
  });
  if (!policy.ok) return { outcome: 'invalid', reason: 'weak' };

  const generation = it.credentialGeneration + 1;
  const changed = await SsoUser.updateOne(
    { tenantId: it.tenantId, userId: it.userId, credentialGeneration: it.credentialGeneration, needPasswordReset: true },
    {
      $set: {
        passwordHash: await hashUserPassword(input.password),
        needPasswordReset: false,
        passwordChangedAt: new Date(),
        credentialGeneration: generation,
      },
    },
  );
  if (changed.modifiedCount !== 1) return { outcome: 'stale' };
  await LoginInteraction.updateOne(
    { tenantId: it.tenantId, interactionId: it.interactionId },
    { $set: { credentialGeneration: generation } },
  );
  deps.logger.info(
    { event: 'sso.signIn.passwordChanged', tenantId: it.tenantId, userId: it.userId },
    'SSO sign-in: required password change done',
  );
  const amr = it.amr.length > 0 ? [...it.amr] : ['pwd'];
  return {
    outcome: 'complete',
    who: { userId: it.userId, credentialGeneration: generation, amr, acr: amr.includes('mfa') ? 'mfa' : 'pwd' },
  };
}
