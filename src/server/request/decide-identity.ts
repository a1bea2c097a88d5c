import type { Identity } from '../session-identity.js';

/** What a request does with its identity (session-identity.ts) before the store is asked: pure. */
export type IdentityDecision =
  /** 410; `clearCookie`: the name of a cookie that names nothing this server issued, which the answer clears. */
  | { readonly kind: 'refuse'; readonly detail: string; readonly clearCookie?: string }
  /** No session, and none needed: the handler runs on an empty session, and nothing is stored. */
  | { readonly kind: 'visitor' }
  /** Round trip 1 on this session. */
  | { readonly kind: 'session' };

export function decideIdentity(identity: Identity, writes: boolean): IdentityDecision {
  switch (identity.kind) {
    case 'ended':
      return identity.clearCookie === undefined ? { kind: 'refuse', detail: identity.detail } : { kind: 'refuse', detail: identity.detail, clearCookie: identity.clearCookie };
    case 'visitor':
      return writes ? { kind: 'refuse', detail: 'This request has no session to write to' } : { kind: 'visitor' };
    case 'session':
      return { kind: 'session' };
  }
}
