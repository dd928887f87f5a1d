/**
 * Consent records (issue 8 "consent page … stored as consent records"; reference/ncloud-model.md
 * §1 "Consent status"). What the protocols and the portal call:
 *
 * - `recordConsent`: the OIDC consent page's "agree" (one live consent per application × user;
 *   agreeing again to more scopes widens the live record instead of adding a second one).
 * - `findConsent`: the live consent of a user for an application, or null (consent needed).
 * - `listUserConsents` / `withdrawConsent`: the portal's consent section. A withdrawal calls every
 *   listener registered with `onConsentWithdrawn` (the OIDC module revokes the application's grants
 *   for the user there), and is safe to repeat: withdrawing an already withdrawn consent calls the
 *   listeners again, so a revocation that failed the first time is retried by retrying the call.
 * - `consentItemsFor`: the items a consent page shows for an application, in one language, so
 *   the record stores exactly what was shown.
 *
 * The admin API reads consents (`listConsents`, `getConsent`, consent.routes.ts).
 */
import { randomUUID } from 'node:crypto';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { pageOf, type Page } from '../../shared/pagination.js';
import { Application, type StoredApplication } from '../applications/application.model.js';
import { requireTenant } from '../tenant/tenant-context.js';
import { SsoUser } from '../users/user.model.js';
import {
  Consent,
  liveConsentKey,
  withdrawnConsentKey,
  type ConsentWithdrawalReason,
  type StoredConsent,
} from './consent.model.js';
import type { ListConsentsQuery } from './consent.schemas.js';

export const CONSENT_LANGUAGES = ['ko', 'en', 'ja'] as const;
export type ConsentLanguage = (typeof CONSENT_LANGUAGES)[number];

export interface ConsentItem {
  label: string;
  value: string;
}

export interface ConsentView {
  consentId: string;
  applicationId: string;
  userId: string;
  /** CONSENTED while it stands, WITHDRAWN after. */
  status: 'CONSENTED' | 'WITHDRAWN';
  scopes: string[];
  items: ConsentItem[];
  language: string;
  consentedAt: string;
  withdrawnAt: string | null;
  withdrawalReason: ConsentWithdrawalReason | null;
}

/** A consent with the names an admin or a user reads it by. */
export interface ConsentDetailView extends ConsentView {
  applicationName: string | null;
  loginId: string | null;
}

export interface RecordConsentInput {
  tenantId: string;
  accountId: number;
  applicationId: string;
  userId: string;
  scopes: readonly string[];
  /** What the page showed (see consentItemsFor). */
  items: readonly ConsentItem[];
  language: string;
}

export interface ConsentWithdrawnEvent {
  tenantId: string;
  accountId: number;
  consentId: string;
  applicationId: string;
  userId: string;
  reason: ConsentWithdrawalReason;
}

export type ConsentWithdrawnListener = (event: ConsentWithdrawnEvent) => Promise<void> | void;

const listeners = new Set<ConsentWithdrawnListener>();

/** Registers a listener called after each withdrawal; returns a function that removes it. */
export function onConsentWithdrawn(listener: ConsentWithdrawnListener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** Calls every listener; all run even if one fails, then the first failure is thrown (the caller retries the withdrawal). */
async function notifyWithdrawn(event: ConsentWithdrawnEvent): Promise<void> {
  const results = await Promise.allSettled([...listeners].map(async (l) => l(event)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export function toConsentView(d: StoredConsent): ConsentView {
  return {
    consentId: d.consentId,
    applicationId: d.applicationId,
    userId: d.userId,
    status: d.withdrawnAt ? 'WITHDRAWN' : 'CONSENTED',
    scopes: [...d.scopes],
    items: d.items.map((i) => ({ label: i.label, value: i.value ?? '' })),
    language: d.language ?? 'en',
    consentedAt: d.consentedAt.toISOString(),
    withdrawnAt: d.withdrawnAt ? d.withdrawnAt.toISOString() : null,
    withdrawalReason: (d.withdrawalReason ?? null) as ConsentWithdrawalReason | null,
  };
}

const MAX_SCOPES = 50;
const MAX_ITEMS = 50;
const MAX_TEXT = 2000;

function checkRecordInput(input: RecordConsentInput): void {
  const problems: { field: string; message: string }[] = [];
  if (!(CONSENT_LANGUAGES as readonly string[]).includes(input.language)) problems.push({ field: 'language', message: `one of ${CONSENT_LANGUAGES.join(', ')}` });
  if (input.scopes.length > MAX_SCOPES || input.scopes.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 200)) {
    problems.push({ field: 'scopes', message: `at most ${MAX_SCOPES} non-empty scope names` });
  }
  if (input.items.length > MAX_ITEMS || input.items.some((i) => !i.label || i.label.length > MAX_TEXT || (i.value ?? '').length > MAX_TEXT)) {
    problems.push({ field: 'items', message: `at most ${MAX_ITEMS} items, each with a label; texts at most ${MAX_TEXT} characters` });
  }
  if (problems.length) throw new AppError('VALIDATION_FAILED', 'the consent record is not valid', { fieldErrors: problems });
}

/**
 * Records the user's agreement (the consent page's "agree"). One atomic upsert on the live key:
 * a first consent inserts, a later one (more scopes requested) adds the new scopes, replaces the
 * items and language with what was shown this time and moves `consentedAt`. Two concurrent first
 * consents race on the unique live key: the loser retries and lands as the update.
 */
export async function recordConsent(input: RecordConsentInput): Promise<ConsentView> {
  checkRecordInput(input);
  const { tenantId, accountId, applicationId, userId } = input;
  const scopes = [...new Set(input.scopes)];
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const d = await Consent.findOneAndUpdate(
        { tenantId, liveKey: liveConsentKey(applicationId, userId) },
        {
          $setOnInsert: { accountId, applicationId, userId, consentId: randomUUID(), withdrawnAt: null, withdrawalReason: null },
          $set: { items: input.items.map((i) => ({ label: i.label, value: i.value ?? '' })), language: input.language, consentedAt: new Date() },
          $addToSet: { scopes: { $each: scopes } },
        },
        { upsert: true, returnDocument: 'after' },
      ).lean<StoredConsent>();
      if (d) return toConsentView(d);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
  throw new AppError('CONFLICT', 'the consent was recorded concurrently; try again');
}

/** The user's live consent to the application, or null when the consent page must be shown. */
export async function findConsent(tenantId: string, applicationId: string, userId: string): Promise<ConsentView | null> {
  const d = await Consent.findOne({ tenantId, liveKey: liveConsentKey(applicationId, userId) }).lean<StoredConsent>();
  return d ? toConsentView(d) : null;
}

async function withNames(tenantId: string, docs: readonly StoredConsent[]): Promise<ConsentDetailView[]> {
  const appIds = [...new Set(docs.map((d) => d.applicationId))];
  const userIds = [...new Set(docs.map((d) => d.userId))];
  const [apps, users] = await Promise.all([
    appIds.length ? Application.find({ tenantId, applicationId: { $in: appIds } }).select('applicationId name').lean<Pick<StoredApplication, 'applicationId' | 'name'>[]>() : [],
    userIds.length ? SsoUser.find({ tenantId, userId: { $in: userIds } }).select('userId loginId').lean<{ userId: string; loginId: string }[]>() : [],
  ]);
  const appName = new Map(apps.map((a) => [a.applicationId, a.name]));
  const loginId = new Map(users.map((u) => [u.userId, u.loginId]));
  return docs.map((d) => ({ ...toConsentView(d), applicationName: appName.get(d.applicationId) ?? null, loginId: loginId.get(d.userId) ?? null }));
}

/** The user's standing consents, newest first, with application names (the portal's consent section). */
export async function listUserConsents(tenantId: string, userId: string): Promise<ConsentDetailView[]> {
  const docs = await Consent.find({ tenantId, userId, withdrawnAt: null }).sort({ consentedAt: -1 }).limit(500).lean<StoredConsent[]>();
  return withNames(tenantId, docs);
}

/**
 * The user withdraws one of its consents (the portal). 404 when the consent is not this user's.
 * The first call marks it withdrawn (frees the live key, so a later sign-in asks again); every
 * call, the first and any retry, tells the listeners, which revoke what the consent allowed.
 */
export async function withdrawConsent(tenantId: string, userId: string, consentId: string): Promise<ConsentView> {
  const now = new Date();
  const marked = await Consent.findOneAndUpdate(
    { tenantId, userId, consentId, withdrawnAt: null },
    { $set: { withdrawnAt: now, withdrawalReason: 'user', liveKey: withdrawnConsentKey(consentId) } },
    { returnDocument: 'after' },
  ).lean<StoredConsent>();
  const d = marked ?? (await Consent.findOne({ tenantId, userId, consentId }).lean<StoredConsent>());
  if (!d) throw new AppError('NOT_FOUND', `consent ${consentId} does not exist`);
  await notifyWithdrawn({
    tenantId,
    accountId: d.accountId,
    consentId: d.consentId,
    applicationId: d.applicationId,
    userId: d.userId,
    reason: (d.withdrawalReason ?? 'user') as ConsentWithdrawalReason,
  });
  return toConsentView(d);
}

/**
 * An application is being deleted: its standing consents end (kept as history with reason
 * `applicationDeleted`) and the listeners are told, one consent at a time, so grants issued under
 * them are revoked. Safe to repeat: only consents still standing are touched.
 */
export async function withdrawApplicationConsents(tenantId: string, applicationId: string): Promise<number> {
  let count = 0;
  for (;;) {
    const batch = await Consent.find({ tenantId, applicationId, withdrawnAt: null }).select('consentId').limit(200).lean<{ consentId: string }[]>();
    if (batch.length === 0) return count;
    for (const { consentId } of batch) {
      const d = await Consent.findOneAndUpdate(
        { tenantId, consentId, withdrawnAt: null },
        { $set: { withdrawnAt: new Date(), withdrawalReason: 'applicationDeleted', liveKey: withdrawnConsentKey(consentId) } },
        { returnDocument: 'after' },
      ).lean<StoredConsent>();
      if (!d) continue;
      count++;
      await notifyWithdrawn({ tenantId, accountId: d.accountId, consentId, applicationId, userId: d.userId, reason: 'applicationDeleted' });
    }
  }
}

/**
 * What a consent page shows for an application (its `consentPage` settings, Ncloud's fields) in
 * one of the languages the application uses (falling back to its default language), and the
 * scopes asked for. The OIDC page renders these and passes the same list to `recordConsent`.
 */
export function consentItemsFor(
  app: Pick<StoredApplication, 'name' | 'consentPage'>,
  requestedLanguage: string | undefined,
  scopes: readonly string[],
): { language: ConsentLanguage; items: ConsentItem[] } {
  const page = app.consentPage;
  const uses = (page?.useLanguages ?? ['en']).filter((l): l is ConsentLanguage => (CONSENT_LANGUAGES as readonly string[]).includes(l));
  const fallback = (CONSENT_LANGUAGES as readonly string[]).includes(page?.defaultLanguage ?? '') ? (page!.defaultLanguage as ConsentLanguage) : 'en';
  const language: ConsentLanguage = uses.find((l) => l === requestedLanguage) ?? fallback;
  const text = (l: { ko?: string | null; en?: string | null; ja?: string | null } | null | undefined) => (l?.[language] ?? '') || (l?.[fallback] ?? '') || '';
  const items: ConsentItem[] = [{ label: 'applicationName', value: text(page?.applicationName) || app.name }];
  items.push({ label: 'scopes', value: [...scopes].join(' ') });
  if (page?.usePurposeDesc) items.push({ label: 'purpose', value: text(page.purposeDesc) });
  if (page?.usePeriodDesc) items.push({ label: 'period', value: text(page.periodDesc) });
  if (page?.dataTransferAbroad) items.push({ label: 'dataTransferCountry', value: page.dataTransferCountry ?? '' });
  if (page?.dataRecipients) items.push({ label: 'dataRecipients', value: page.dataRecipients });
  if (page?.dataRecipientsContact) items.push({ label: 'dataRecipientsContact', value: page.dataRecipientsContact });
  return { language, items };
}

// ---- admin API (consent.routes.ts) ----

export async function listConsents(accountId: number, q: ListConsentsQuery): Promise<Page<ConsentDetailView>> {
  const { tenantId } = await requireTenant(accountId);
  const filter: Record<string, unknown> = { tenantId };
  if (q.applicationId) filter.applicationId = q.applicationId;
  if (q.userId) filter.userId = q.userId;
  if (q.status === 'CONSENTED') filter.withdrawnAt = null;
  if (q.status === 'WITHDRAWN') filter.withdrawnAt = { $ne: null };
  const page = await pageOf(Consent.find(filter).sort({ consentedAt: -1, consentId: 1 }).lean<StoredConsent[]>(), Consent.countDocuments(filter), q, (d) => d);
  return { ...page, items: await withNames(tenantId, page.items) };
}

export async function findConsentById(tenantId: string, consentId: string): Promise<StoredConsent | null> {
  return Consent.findOne({ tenantId, consentId }).lean<StoredConsent>();
}

export async function getConsent(accountId: number, consentId: string): Promise<ConsentDetailView> {
  const { tenantId } = await requireTenant(accountId);
  const d = await findConsentById(tenantId, consentId);
  if (!d) throw new AppError('NOT_FOUND', `consent ${consentId} does not exist`);
  const [view] = await withNames(tenantId, [d]);
  return view!;
}
