/**
 * Server-rendered console pages: eta templates from `views/` (one layout), every interpolation
 * HTML-escaped (`<%= %>`; the only raw output is the layout's page body, itself rendered with
 * escaping). Pages carry no inline script or style (the CSP forbids both); the stylesheet is
 * served by the console router.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Response } from 'express';
import { Eta } from 'eta';

/** `views/` at the project root, from src/console (tsx) and dist/console (build) alike. */
export const VIEWS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'views');

const eta = new Eta({ views: VIEWS_DIR, autoEscape: true, cache: true });

export function renderPage(res: Response, template: string, data: Record<string, unknown>, status = 200): void {
  const html = eta.render(template, data);
  res.status(status).type('html').send(html);
}
