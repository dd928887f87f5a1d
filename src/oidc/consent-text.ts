/**
 * Words of the consent page in the three languages Ncloud's consent settings name (ko, en, ja;
 * reference/ncloud-model.md §1 "Application": consent page with purpose, period, data transfer
 * abroad and recipients). The application's own texts come from its `consentPage` settings.
 */
import type { Request } from 'express';
import { pickLanguage } from '../http/i18n.js';

export type ConsentLanguage = 'ko' | 'en' | 'ja';
const LANGUAGES: readonly ConsentLanguage[] = ['ko', 'en', 'ja'];

export interface ConsentText {
  title: string;
  intro: (app: string) => string;
  dataHeading: string;
  purpose: string;
  period: string;
  transfer: string;
  transferTo: (country: string) => string;
  recipients: string;
  allow: string;
  deny: string;
  scopes: Record<string, string>;
}

const TEXT: Record<ConsentLanguage, ConsentText> = {
  en: {
    title: 'Allow access',
    intro: (app) => `${app} asks to use the following information about you.`,
    dataHeading: 'Information shared',
    purpose: 'Purpose',
    period: 'Retention period',
    transfer: 'Transfer abroad',
    transferTo: (c) => `Your information is transferred to ${c || 'another country'}.`,
    recipients: 'Recipients',
    allow: 'Allow',
    deny: 'Deny',
    scopes: { openid: 'Your user ID', profile: 'Your name and login ID', email: 'Your email address', groups: 'Your groups', roles: 'Your roles and accounts', offline_access: 'Access while you are away' },
  },
  ko: {
    title: '정보 제공 동의',
    intro: (app) => `${app}에서 다음 정보의 제공을 요청합니다.`,
    dataHeading: '제공 항목',
    purpose: '이용 목적',
    period: '보유 기간',
    transfer: '국외 이전',
    transferTo: (c) => `정보가 ${c || '국외'}(으)로 이전됩니다.`,
    recipients: '제공받는 자',
    allow: '동의',
    deny: '거부',
    scopes: { openid: '사용자 ID', profile: '이름, 로그인 ID', email: '이메일 주소', groups: '그룹', roles: '역할 및 계정', offline_access: '오프라인 접근' },
  },
  ja: {
    title: '情報提供の同意',
    intro: (app) => `${app} が次の情報の利用を求めています。`,
    dataHeading: '提供する情報',
    purpose: '利用目的',
    period: '保有期間',
    transfer: '国外移転',
    transferTo: (c) => `情報は${c || '国外'}に移転されます。`,
    recipients: '提供先',
    allow: '同意する',
    deny: '拒否する',
    scopes: { openid: 'ユーザー ID', profile: '氏名とログイン ID', email: 'メールアドレス', groups: 'グループ', roles: 'ロールとアカウント', offline_access: 'オフラインアクセス' },
  },
};

function isLanguage(v: unknown): v is ConsentLanguage {
  return typeof v === 'string' && (LANGUAGES as readonly string[]).includes(v);
}

/**
 * The user's language as the sign-in pages choose it (src/http/i18n.ts: `?lang=`, the remembered
 * `gh_lang` choice, Accept-Language) when the application's consent page offers it, else the
 * application's default language.
 */
export function pickConsentLanguage(page: { useLanguages?: string[] | null; defaultLanguage?: string | null } | null | undefined, req: Request): ConsentLanguage {
  const offered = (page?.useLanguages ?? ['en']).filter(isLanguage);
  const preferred = pickLanguage(req);
  if (offered.includes(preferred)) return preferred;
  if (isLanguage(page?.defaultLanguage) && offered.includes(page.defaultLanguage)) return page.defaultLanguage;
  return offered[0] ?? 'en';
}

export function consentTextFor(lang: ConsentLanguage): ConsentText {
  return TEXT[lang];
}

export function scopeLabel(lang: ConsentLanguage, scope: string): string {
  return TEXT[lang].scopes[scope] ?? scope;
}
