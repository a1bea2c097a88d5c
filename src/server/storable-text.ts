/**
 * Key names and session ids are stored as text by every store: PostgreSQL's
 * text and jsonb refuse U+0000, and Redis and PostgreSQL both store UTF-8,
 * where a lone surrogate becomes U+FFFD (so two ids would name one session).
 * They are refused before any store sees them, the same on every store.
 */
const UNSTORABLE = /\u0000|\p{Cs}/u;

/** Why `text` cannot be a key name or a session id, or null when it can. */
export function unstorable(text: string): string | null {
  const match = UNSTORABLE.exec(text);
  if (!match) return null;
  return match[0] === '\u0000'
    ? 'holds U+0000, which PostgreSQL cannot store'
    : `holds a lone surrogate (U+${match[0].charCodeAt(0).toString(16).toUpperCase()}), which stores keep as U+FFFD`;
}
