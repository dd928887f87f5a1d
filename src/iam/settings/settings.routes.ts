/**
 * `/api/v1/subaccount/dashboard/…` and `/api/v1/subaccount/settings/…`: seed S1's Dashboard
 * group, each route gated by exactly the action the table names:
 *   View/getResourceCount          GET /dashboard/resource-count, and GET /settings (the seed has
 *                                  no View action for the settings; Ncloud shows them on the
 *                                  Sub Account dashboard, so the dashboard's View action gates them)
 *   Change/manageLoginPageSetting  PUT /settings/login-alias, PUT /settings/console-access-ips
 *                                  ("manage access page settings": who reaches the sign-in page)
 *   Change/managePasswordSetting   PUT /settings/password
 *   Change/manageSessionSetting    PUT /settings/session
 */
import { defineRoute, type AdminContext, type AdminRouteSpec } from '../../http/admin-route.js';
import { assertNoPendingPasswordChange } from '../auth/password-change.service.js';
import { consoleAccessIpsBody, loginAliasBody, passwordSettingBody, sessionSettingBody } from './settings.schemas.js';
import * as service from './settings.service.js';

const baseUrlOf = (ctx: Pick<AdminContext<unknown, unknown, unknown, unknown>, 'deps'>): string => ctx.deps.config.baseUrl;

export const settingsRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/dashboard/resource-count',
    action: 'SubAccount:View/getResourceCount',
    summary: 'Count the account’s sub accounts, groups, policies and roles',
    handler: ({ accountId }) => service.getResourceCount(accountId),
  }),
  defineRoute({
    method: 'get',
    path: '/settings',
    action: 'SubAccount:View/getResourceCount',
    summary: 'Get the account-wide settings (login alias, password expiry, session idle expiry, console access IPs)',
    handler: (ctx) => service.getAccountSettings(ctx.accountId, baseUrlOf(ctx)),
  }),
  defineRoute({
    method: 'put',
    path: '/settings/login-alias',
    action: 'SubAccount:Change/manageLoginPageSetting',
    summary: 'Set or remove the login alias of the sub accounts’ sign-in page (unique across accounts)',
    body: loginAliasBody,
    handler: (ctx) => service.setLoginAlias(ctx.accountId, ctx.body.loginAlias, baseUrlOf(ctx)),
  }),
  defineRoute({
    method: 'put',
    path: '/settings/console-access-ips',
    action: 'SubAccount:Change/manageLoginPageSetting',
    summary: 'Set the addresses the account’s sub accounts may use the console from',
    body: consoleAccessIpsBody,
    handler: (ctx) => service.setConsoleAccessIps(ctx.accountId, ctx.body.consoleAccessIps, baseUrlOf(ctx)),
  }),
  defineRoute({
    method: 'put',
    path: '/settings/password',
    action: 'SubAccount:Change/managePasswordSetting',
    summary: 'Set the sub account password expiry (null, 60, 90, 120 or 180 days)',
    body: passwordSettingBody,
    handler: (ctx) => {
      // authenticate() lets a session that must change its password reach paths ending in
      // "/password" (meant for the password change itself); this settings path ends so too,
      // so it refuses such sessions here.
      assertNoPendingPasswordChange(ctx.req.consoleSession);
      return service.setPasswordExpiry(ctx.accountId, ctx.body.passwordExpiryDays, baseUrlOf(ctx));
    },
  }),
  defineRoute({
    method: 'put',
    path: '/settings/session',
    action: 'SubAccount:Change/manageSessionSetting',
    summary: 'Set the console idle session expiry (600, 1800, 3600 or 10800 seconds)',
    body: sessionSettingBody,
    handler: (ctx) => service.setSessionIdle(ctx.accountId, ctx.body.sessionIdleSec, baseUrlOf(ctx)),
  }),
];
