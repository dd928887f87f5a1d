/**
 * Texts of the password reset pages in the three languages of the end-user pages (issue 7
 * "Pages": Korean, English, Japanese; the language is chosen by src/http/i18n.ts `pickLanguage`).
 * Kept beside the pages they serve; the policy's reasons are codes (password-policy.ts) so each
 * language words them itself.
 */
import type { Language } from '../http/i18n.js';
import { PASSWORD_MAX_LENGTH, type PasswordPolicyReason } from './password-policy.js';

const en = {
  formTitle: 'Choose a new password',
  formIntro: 'For {loginId}. This link works once and expires one hour after it was sent.',
  notChanged: 'The password was not changed:',
  newPassword: 'New password',
  confirmPassword: 'New password again',
  hint: 'At least {min} characters; spaces and any letters or symbols are welcome. A long phrase is easier to remember than a short code. Common or breached passwords, and ones containing your login ID or name, are refused.',
  submit: 'Set password',
  signsOut: 'Setting a new password signs you out on every device.',
  mismatch: 'The two passwords are not the same.',
  invalidTitle: 'Link not valid',
  invalidText:
    'This password reset link is not valid: it may have expired, been used already, or been replaced by a newer one. Ask your administrator for a new link.',
  doneTitle: 'Password changed',
  doneText: 'Your new password is set and you were signed out everywhere. Sign in with the new password.',
  signIn: 'Sign in',
  tooShort: 'The password must be at least {min} characters.',
  tooLong: 'The password must be at most {max} characters.',
  common: 'The password is a commonly used or breached password.',
  repetitive: 'The password must not be a repeated or sequential run of characters.',
  contextWord: 'The password must not contain your login ID, e-mail, name or the service name.',
};
type MessageKey = keyof typeof en;

const ko: Record<MessageKey, string> = {
  formTitle: '새 비밀번호 설정',
  formIntro: '{loginId} 계정의 비밀번호입니다. 이 링크는 한 번만 사용할 수 있으며 발송 후 1시간이 지나면 만료됩니다.',
  notChanged: '비밀번호가 변경되지 않았습니다:',
  newPassword: '새 비밀번호',
  confirmPassword: '새 비밀번호 확인',
  hint: '{min}자 이상이어야 합니다. 공백과 모든 문자, 기호를 사용할 수 있습니다. 짧은 암호보다 긴 문장이 기억하기 쉽습니다. 흔하거나 유출된 비밀번호, 로그인 ID나 이름이 포함된 비밀번호는 사용할 수 없습니다.',
  submit: '비밀번호 설정',
  signsOut: '새 비밀번호를 설정하면 모든 기기에서 로그아웃됩니다.',
  mismatch: '두 비밀번호가 일치하지 않습니다.',
  invalidTitle: '유효하지 않은 링크',
  invalidText: '이 비밀번호 재설정 링크는 유효하지 않습니다. 만료되었거나, 이미 사용되었거나, 새 링크로 대체되었을 수 있습니다. 관리자에게 새 링크를 요청하세요.',
  doneTitle: '비밀번호 변경 완료',
  doneText: '새 비밀번호가 설정되었고 모든 곳에서 로그아웃되었습니다. 새 비밀번호로 로그인하세요.',
  signIn: '로그인',
  tooShort: '비밀번호는 {min}자 이상이어야 합니다.',
  tooLong: '비밀번호는 {max}자 이하여야 합니다.',
  common: '흔히 사용되거나 유출된 비밀번호입니다.',
  repetitive: '같은 문자의 반복이나 연속된 문자열은 사용할 수 없습니다.',
  contextWord: '비밀번호에 로그인 ID, 이메일, 이름 또는 서비스 이름을 포함할 수 없습니다.',
};

const ja: Record<MessageKey, string> = {
  formTitle: '新しいパスワードの設定',
  formIntro: '{loginId} のパスワードです。このリンクは一度だけ使用でき、送信から 1 時間で期限切れになります。',
  notChanged: 'パスワードは変更されませんでした:',
  newPassword: '新しいパスワード',
  confirmPassword: '新しいパスワード (確認)',
  hint: '{min} 文字以上にしてください。スペースや任意の文字・記号を使えます。短い記号の列より長いフレーズのほうが覚えやすくなります。よく使われる・漏えいしたパスワードや、ログイン ID・氏名を含むパスワードは使用できません。',
  submit: 'パスワードを設定',
  signsOut: '新しいパスワードを設定すると、すべてのデバイスからサインアウトされます。',
  mismatch: '2 つのパスワードが一致しません。',
  invalidTitle: '無効なリンク',
  invalidText: 'このパスワード再設定リンクは無効です。期限切れ、使用済み、または新しいリンクに置き換えられた可能性があります。管理者に新しいリンクを依頼してください。',
  doneTitle: 'パスワードを変更しました',
  doneText: '新しいパスワードが設定され、すべての場所からサインアウトされました。新しいパスワードでサインインしてください。',
  signIn: 'サインイン',
  tooShort: 'パスワードは {min} 文字以上にしてください。',
  tooLong: 'パスワードは {max} 文字以下にしてください。',
  common: 'よく使われている、または漏えいしたパスワードです。',
  repetitive: '同じ文字の繰り返しや連続した文字列は使用できません。',
  contextWord: 'パスワードにログイン ID、メールアドレス、氏名、サービス名を含めることはできません。',
};

const MESSAGES: Record<Language, Record<MessageKey, string>> = { en, ko, ja };

export function resetText(lang: Language, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return MESSAGES[lang][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

export function resetPolicyMessages(lang: Language, reasons: readonly PasswordPolicyReason[], minLength: number): string[] {
  return reasons.map((r) => resetText(lang, r, { min: minLength, max: PASSWORD_MAX_LENGTH }));
}
