/**
 * Languages of the end-user pages (issue 7 "Pages": Korean, English and Japanese from the
 * browser's language with a switcher). The sign-in pages use it now; the OIDC consent page and
 * the portal reuse `pickLanguage` and `t`.
 *
 * Choice, in order: `?lang=` (the switcher's links; remembered in a cookie), the `gh_lang`
 * cookie, the best `Accept-Language` match by q-value, English. Only the three known tags are
 * ever echoed into a page or a cookie.
 */
import type { Request, Response } from 'express';

export const LANGUAGES = ['en', 'ko', 'ja'] as const;
export type Language = (typeof LANGUAGES)[number];
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', ko: '한국어', ja: '日本語' };
export const LANGUAGE_COOKIE = 'gh_lang';

function asLanguage(v: unknown): Language | undefined {
  if (typeof v !== 'string') return undefined;
  const primary = v.trim().toLowerCase().split(/[-_]/)[0];
  return (LANGUAGES as readonly string[]).includes(primary ?? '') ? (primary as Language) : undefined;
}

/** The best supported language of an Accept-Language header (RFC 9110 §12.5.4), or undefined. */
export function languageFromAcceptLanguage(header: string | undefined): Language | undefined {
  if (!header) return undefined;
  let best: { lang: Language; q: number } | undefined;
  for (const part of header.slice(0, 512).split(',')) {
    const [tag = '', ...params] = part.trim().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    const lang = asLanguage(tag);
    if (lang && Number.isFinite(q) && q > 0 && (!best || q > best.q)) best = { lang, q };
  }
  return best?.lang;
}

/** The language of this request's page. */
export function pickLanguage(req: Request): Language {
  const cookies = (req as Request & { cookies?: Record<string, unknown> }).cookies ?? {};
  return (
    asLanguage(req.query.lang) ?? asLanguage(cookies[LANGUAGE_COOKIE]) ?? languageFromAcceptLanguage(req.get('accept-language')) ?? 'en'
  );
}

/** Remembers an explicit `?lang=` choice (a preference, not a secret: readable, Lax, a year). */
export function rememberLanguage(req: Request, res: Response, secure: boolean): void {
  const chosen = asLanguage(req.query.lang);
  if (chosen) res.cookie(LANGUAGE_COOKIE, chosen, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: 365 * 86_400_000 });
}

const en = {
  'login.title': 'Sign in',
  'login.heading': 'Sign in to {tenant}',
  'login.continueTo': 'to continue to {client}',
  'login.continueAs': 'Confirm it is you: enter the password of {loginId} to continue.',
  'login.loginId': 'Login ID',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.failed': 'Sign-in failed. Check your login ID and password and try again. After repeated failures, sign-in is paused for a while.',
  'login.throttled': 'Too many failed sign-in attempts. Try again later.',
  'login.disabled': 'Sign-in with a password is not available for this organization.',
  'login.restart': 'The previous sign-in ended. Sign in again.',
  'login.expiredTitle': 'Sign-in expired',
  'login.expired': 'This sign-in has expired or was opened in another browser. Start again.',
  'login.startAgain': 'Start again',
  'login.refusedTitle': 'Request refused',
  'login.refused': 'This form has expired or was not sent from this page. Reload the page and try again.',
  'mfa.title': 'Verification',
  'mfa.totpHeading': 'Enter your verification code',
  'mfa.totpIntro': 'Enter the 6-digit code from your authenticator app.',
  'mfa.otpHeading': 'Enter the code we sent',
  'mfa.otpIntroEmail': 'We sent a 6-digit code to {to}. It is valid for 5 minutes.',
  'mfa.otpIntroSms': 'We sent a 6-digit code by text message to {to}. It is valid for 5 minutes.',
  'mfa.enrollHeading': 'Set up two-step verification',
  'mfa.enrollIntro':
    'Your organization requires a second step at sign-in. Scan this QR code with an authenticator app (or type the key), then enter the 6-digit code it shows.',
  'mfa.qrAlt': 'QR code for your authenticator app',
  'mfa.key': 'Key',
  'mfa.code': 'Code',
  'mfa.codeHint': '6 digits',
  'mfa.verify': 'Verify',
  'mfa.confirm': 'Confirm and sign in',
  'mfa.wrongCode': 'That code is not valid. Try again.',
  'mfa.otherMethods': 'Other ways to verify',
  'mfa.useTotp': 'Use my authenticator app',
  'mfa.sendEmail': 'Send a code by e-mail',
  'mfa.sendSms': 'Send a code by text message',
  'mfa.resend': 'Send a new code',
  'mfa.sendLimit': 'No more codes can be sent for this sign-in. Start again.',
  'mfa.startOver': 'Start over',
  'password.title': 'Change your password',
  'password.intro': 'Your administrator asks you to choose a new password before you continue.',
  'password.new': 'New password',
  'password.confirm': 'New password again',
  'password.hint': 'At least {min} characters. Long phrases are good; common passwords and your own name or login ID are refused.',
  'password.mismatch': 'The two passwords differ.',
  'password.weak': 'Choose another password: it is too short, too common, or contains your name or login ID.',
  'password.submit': 'Change password and continue',
  'logout.title': 'Sign out',
  'logout.confirm': 'Sign out of {tenant}?',
  'logout.submit': 'Sign out',
  'logout.done': 'You are signed out.',
  'logout.signInAgain': 'Sign in again',
  'lang.label': 'Language',
} as const;

export type MessageKey = keyof typeof en;

const ko: Record<MessageKey, string> = {
  'login.title': '로그인',
  'login.heading': '{tenant}에 로그인',
  'login.continueTo': '{client}(으)로 계속하려면 로그인하세요',
  'login.continueAs': '본인 확인: 계속하려면 {loginId}의 비밀번호를 입력하세요.',
  'login.loginId': '로그인 ID',
  'login.password': '비밀번호',
  'login.submit': '로그인',
  'login.failed': '로그인에 실패했습니다. 로그인 ID와 비밀번호를 확인하고 다시 시도하세요. 여러 번 실패하면 잠시 동안 로그인이 중지됩니다.',
  'login.throttled': '로그인 실패가 너무 많습니다. 나중에 다시 시도하세요.',
  'login.disabled': '이 조직에서는 비밀번호 로그인을 사용할 수 없습니다.',
  'login.restart': '이전 로그인이 종료되었습니다. 다시 로그인하세요.',
  'login.expiredTitle': '로그인 만료',
  'login.expired': '이 로그인은 만료되었거나 다른 브라우저에서 열렸습니다. 다시 시작하세요.',
  'login.startAgain': '다시 시작',
  'login.refusedTitle': '요청 거부',
  'login.refused': '이 양식이 만료되었거나 이 페이지에서 전송되지 않았습니다. 페이지를 새로 고친 후 다시 시도하세요.',
  'mfa.title': '인증',
  'mfa.totpHeading': '인증 코드 입력',
  'mfa.totpIntro': '인증 앱에 표시된 6자리 코드를 입력하세요.',
  'mfa.otpHeading': '전송된 코드 입력',
  'mfa.otpIntroEmail': '{to}(으)로 6자리 코드를 보냈습니다. 5분 동안 유효합니다.',
  'mfa.otpIntroSms': '{to}(으)로 문자 메시지로 6자리 코드를 보냈습니다. 5분 동안 유효합니다.',
  'mfa.enrollHeading': '2단계 인증 설정',
  'mfa.enrollIntro':
    '조직에서 로그인 시 2단계 인증을 요구합니다. 인증 앱으로 이 QR 코드를 스캔하거나 키를 입력한 후 표시되는 6자리 코드를 입력하세요.',
  'mfa.qrAlt': '인증 앱용 QR 코드',
  'mfa.key': '키',
  'mfa.code': '코드',
  'mfa.codeHint': '6자리 숫자',
  'mfa.verify': '확인',
  'mfa.confirm': '확인 후 로그인',
  'mfa.wrongCode': '올바른 코드가 아닙니다. 다시 시도하세요.',
  'mfa.otherMethods': '다른 인증 방법',
  'mfa.useTotp': '인증 앱 사용',
  'mfa.sendEmail': '이메일로 코드 받기',
  'mfa.sendSms': '문자 메시지로 코드 받기',
  'mfa.resend': '새 코드 보내기',
  'mfa.sendLimit': '이 로그인에서는 더 이상 코드를 보낼 수 없습니다. 다시 시작하세요.',
  'mfa.startOver': '처음부터 다시',
  'password.title': '비밀번호 변경',
  'password.intro': '계속하기 전에 관리자가 새 비밀번호를 설정하도록 요청했습니다.',
  'password.new': '새 비밀번호',
  'password.confirm': '새 비밀번호 확인',
  'password.hint': '{min}자 이상. 긴 문구가 좋습니다. 흔한 비밀번호나 이름, 로그인 ID가 포함된 비밀번호는 사용할 수 없습니다.',
  'password.mismatch': '두 비밀번호가 다릅니다.',
  'password.weak': '다른 비밀번호를 선택하세요. 너무 짧거나 흔하거나 이름 또는 로그인 ID를 포함합니다.',
  'password.submit': '비밀번호 변경 후 계속',
  'logout.title': '로그아웃',
  'logout.confirm': '{tenant}에서 로그아웃하시겠습니까?',
  'logout.submit': '로그아웃',
  'logout.done': '로그아웃되었습니다.',
  'logout.signInAgain': '다시 로그인',
  'lang.label': '언어',
};

const ja: Record<MessageKey, string> = {
  'login.title': 'サインイン',
  'login.heading': '{tenant} にサインイン',
  'login.continueTo': '{client} に進むにはサインインしてください',
  'login.continueAs': '本人確認: 続行するには {loginId} のパスワードを入力してください。',
  'login.loginId': 'ログイン ID',
  'login.password': 'パスワード',
  'login.submit': 'サインイン',
  'login.failed':
    'サインインに失敗しました。ログイン ID とパスワードを確認して、もう一度お試しください。失敗が続くと、しばらくサインインできなくなります。',
  'login.throttled': 'サインインの失敗が多すぎます。しばらくしてからお試しください。',
  'login.disabled': 'この組織ではパスワードによるサインインは利用できません。',
  'login.restart': '前回のサインインは終了しました。もう一度サインインしてください。',
  'login.expiredTitle': 'サインインの期限切れ',
  'login.expired': 'このサインインは期限切れか、別のブラウザーで開かれました。最初からやり直してください。',
  'login.startAgain': 'やり直す',
  'login.refusedTitle': 'リクエストは拒否されました',
  'login.refused': 'このフォームは期限切れか、このページから送信されていません。ページを再読み込みしてもう一度お試しください。',
  'mfa.title': '確認',
  'mfa.totpHeading': '確認コードを入力',
  'mfa.totpIntro': '認証アプリに表示される 6 桁のコードを入力してください。',
  'mfa.otpHeading': '送信したコードを入力',
  'mfa.otpIntroEmail': '{to} に 6 桁のコードを送信しました。有効期間は 5 分です。',
  'mfa.otpIntroSms': '{to} に SMS で 6 桁のコードを送信しました。有効期間は 5 分です。',
  'mfa.enrollHeading': '2 段階認証の設定',
  'mfa.enrollIntro':
    '組織はサインイン時に 2 段階目の確認を求めています。認証アプリでこの QR コードを読み取るか、キーを入力してから、表示される 6 桁のコードを入力してください。',
  'mfa.qrAlt': '認証アプリ用の QR コード',
  'mfa.key': 'キー',
  'mfa.code': 'コード',
  'mfa.codeHint': '6 桁の数字',
  'mfa.verify': '確認',
  'mfa.confirm': '確認してサインイン',
  'mfa.wrongCode': 'コードが正しくありません。もう一度お試しください。',
  'mfa.otherMethods': 'ほかの確認方法',
  'mfa.useTotp': '認証アプリを使う',
  'mfa.sendEmail': 'メールでコードを受け取る',
  'mfa.sendSms': 'SMS でコードを受け取る',
  'mfa.resend': '新しいコードを送信',
  'mfa.sendLimit': 'このサインインではこれ以上コードを送信できません。最初からやり直してください。',
  'mfa.startOver': '最初からやり直す',
  'password.title': 'パスワードの変更',
  'password.intro': '続行する前に新しいパスワードを設定するよう管理者から求められています。',
  'password.new': '新しいパスワード',
  'password.confirm': '新しいパスワード (確認)',
  'password.hint': '{min} 文字以上。長いフレーズがおすすめです。よく使われるパスワードや名前、ログイン ID を含むものは使えません。',
  'password.mismatch': '2 つのパスワードが一致しません。',
  'password.weak': '別のパスワードを選んでください。短すぎる、よく使われている、または名前やログイン ID を含んでいます。',
  'password.submit': 'パスワードを変更して続行',
  'logout.title': 'サインアウト',
  'logout.confirm': '{tenant} からサインアウトしますか?',
  'logout.submit': 'サインアウト',
  'logout.done': 'サインアウトしました。',
  'logout.signInAgain': 'もう一度サインイン',
  'lang.label': '言語',
};

const MESSAGES: Record<Language, Record<MessageKey, string>> = { en, ko, ja };

/** A message in a language, with `{name}` placeholders filled (the page escapes the result). */
export function t(lang: Language, key: MessageKey, vars: Record<string, string | number> = {}): string {
  const text = MESSAGES[lang][key];
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** A translator bound to one language, for templates (`it.t('login.title')`). */
export function translator(lang: Language): (key: MessageKey, vars?: Record<string, string | number>) => string {
  return (key, vars) => t(lang, key, vars);
}
