/**
 * The pages' languages (src/http/i18n.ts; issue 7 "Pages": Korean, English and Japanese from the
 * browser's language): Accept-Language q-values, fallbacks, placeholders, and every message key
 * the sign-in templates name exists in each language. Pure: no database.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Request } from 'express';
import { VIEWS_DIR } from '../../../src/console/views.js';
import { LANGUAGES, languageFromAcceptLanguage, pickLanguage, t, type MessageKey } from '../../../src/http/i18n.js';

function fakeRequest(query: Record<string, unknown>, cookies: Record<string, string>, acceptLanguage?: string): Request {
  return { query, cookies, get: (h: string) => (h.toLowerCase() === 'accept-language' ? acceptLanguage : undefined) } as unknown as Request;
}

describe('i18n of the end-user pages', () => {
  it('picks the best supported language by q-value, region tags included', () => {
    expect(languageFromAcceptLanguage('fr-FR,ja;q=0.8,ko-KR;q=0.9')).to.equal('ko');
    expect(languageFromAcceptLanguage('ja-JP')).to.equal('ja');
    expect(languageFromAcceptLanguage('de, en-GB;q=0.3')).to.equal('en');
    expect(languageFromAcceptLanguage('ko;q=0, ja;q=0.1')).to.equal('ja');
    expect(languageFromAcceptLanguage('fr, de')).to.equal(undefined);
    expect(languageFromAcceptLanguage(undefined)).to.equal(undefined);
  });

  it('orders ?lang=, then the cookie, then Accept-Language, then English; never echoes an unknown value', () => {
    expect(pickLanguage(fakeRequest({ lang: 'ja' }, { gh_lang: 'ko' }, 'en'))).to.equal('ja');
    expect(pickLanguage(fakeRequest({}, { gh_lang: 'ko' }, 'ja'))).to.equal('ko');
    expect(pickLanguage(fakeRequest({}, {}, 'ja'))).to.equal('ja');
    expect(pickLanguage(fakeRequest({ lang: '<script>' }, { gh_lang: 'xx' }, 'fr'))).to.equal('en');
    expect(pickLanguage(fakeRequest({ lang: ['ko', 'ja'] }, {}, undefined))).to.equal('en');
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(t('en', 'login.heading', { tenant: 'acme' })).to.equal('Sign in to acme');
    expect(t('ko', 'login.heading', { tenant: 'acme' })).to.equal('acme에 로그인');
    expect(t('ja', 'login.heading')).to.equal('{tenant} にサインイン');
  });

  it('every key a sign-in template names has a text in every language', () => {
    const dir = path.join(VIEWS_DIR, 'auth');
    const keys = new Set<string>();
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.eta'))) {
      for (const m of readFileSync(path.join(dir, f), 'utf8').matchAll(/it\.t\('([a-zA-Z.]+)'/g)) keys.add(m[1]!);
    }
    expect(keys.size).to.be.greaterThan(20);
    for (const lang of LANGUAGES)
      for (const k of keys)
        expect(t(lang, k as MessageKey), `${lang} ${k}`)
          .to.be.a('string')
          .and.not.equal('');
  });
});
