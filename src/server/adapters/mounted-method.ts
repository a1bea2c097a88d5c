/** A route mounted under another method than its route table entry declares: found at its first request, with the fix named. */

/** The method a route table entry declares, if the declaration is one. */
export function declaredMethod(declaration: unknown): string | null {
  const method = (declaration as { method?: unknown } | null)?.method;
  return typeof method === 'string' ? method.toUpperCase() : null;
}

/** A route declared `declared` serves requests of `method` (a GET route serves HEAD too). */
export function servedBy(declared: string, method: string): boolean {
  const upper = method.toUpperCase();
  return upper === declared || (declared === 'GET' && upper === 'HEAD');
}

export function wrongMethodMessage(declaration: unknown, mounted: string): string {
  const declared = declaredMethod(declaration)!;
  const path = (declaration as { path?: unknown }).path;
  return (
    `session-lanes: the route ${declared}${typeof path === 'string' ? ` ${path}` : ''} is mounted with app.${mounted.toLowerCase()}(); ` +
    `mount it with app.${declared.toLowerCase()}(), as the route table declares, or change the method in the table`
  );
}

/** `withSession(validator, declaration)`'s declaration, checked before `validator.route()` sees it, with a message that names the likely slip. */
export function checkDeclaration(declaration: unknown): void {
  if (declaration && typeof declaration === 'object') return;
  const got = declaration === undefined ? 'undefined (is the entry named as in the route table?)' : JSON.stringify(declaration) ?? String(declaration);
  throw new TypeError(`withSession(validator, declaration): declaration must be a route table entry (routes.addToCart) or { reads, writes }, got ${got}`);
}
