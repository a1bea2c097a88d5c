import type { AnswerHeaders } from './answer-headers.js';

/**
 * The handler's answer with the session headers (`answer`, as sessionHeaders()
 * made them from its own) written into its own `Headers`, instead of a new
 * Response around its body: a read's answer is then the handler's Response
 * itself, one Response and one `Headers` fewer per request.
 *
 * Only where that is the same answer: a Response whose headers can change is
 * one the app constructed (`new Response()`, `Response.json()`), whose type,
 * URL and status a copy would have too; one whose headers cannot (a fetched
 * upstream answer, `Response.redirect()`) returns null, and so does one whose
 * body is read or locked (the copy throws for it, as it always has).
 */
export function answerInPlace(response: Response, answer: AnswerHeaders): Response | null {
  if (response.bodyUsed || response.body?.locked === true) return null;
  const wanted = new Map<string, string[]>();
  for (const [name, value] of answer.list) {
    const values = wanted.get(name);
    if (values) values.push(value);
    else wanted.set(name, [value]);
  }
  const headers = response.headers;
  let first = true;
  // The first change tells whether the headers can change at all: an immutable Headers throws, with nothing changed.
  const change = (apply: () => void): boolean => {
    if (!first) return (apply(), true);
    first = false;
    try {
      apply();
      return true;
    } catch (error) {
      if (error instanceof TypeError) return false;
      throw error;
    }
  };
  for (const [name, values] of wanted) {
    if (name === 'set-cookie') {
      const own = headers.getSetCookie();
      const keeps = own.length <= values.length && own.every((cookie, i) => cookie === values[i]);
      const ok = keeps
        ? values.slice(own.length).every((cookie) => change(() => headers.append(name, cookie)))
        : change(() => headers.delete(name)) && values.every((cookie) => change(() => headers.append(name, cookie)));
      if (!ok) return null;
      continue;
    }
    const joined = values.join(', ');
    if (headers.get(name) !== joined && !change(() => headers.set(name, joined))) return null;
  }
  // Every name the handler's headers hold is in the list (sessionHeaders() starts from them and only sets or appends).
  return response;
}
