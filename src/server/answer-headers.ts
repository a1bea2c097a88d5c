/**
 * An answer's headers while the validator adds its own to the handler's: a
 * plain list of [name, value] pairs, each Set-Cookie on its own, that a
 * Response takes as its `headers` init and a record keeps as it is. A Fetch
 * `Headers` in between would copy the handler's headers once more and sort
 * them on every read; the Response the list goes into checks every name and
 * value as a `Headers` would.
 *
 * Names are lowercase (the handler's come from a `Headers`, ours are written
 * so), and a name several pairs share reads back joined, as `append` would.
 */
export class AnswerHeaders {
  readonly list: [string, string][] = [];

  constructor(source: Headers) {
    source.forEach((value, name) => {
      if (name !== 'set-cookie') this.list.push([name, value]);
    });
    for (const cookie of source.getSetCookie()) this.list.push(['set-cookie', cookie]);
  }

  has(name: string): boolean {
    return this.list.some(([own]) => own === name);
  }

  append(name: string, value: string): void {
    this.list.push([name, value]);
  }

  /** Replaces every pair of `name` with this one. */
  set(name: string, value: string): void {
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]![0] === name) this.list.splice(i, 1);
    this.list.push([name, value]);
  }
}
