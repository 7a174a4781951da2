// The signed-in session: the access token in memory, the refresh token in sessionStorage (so
// a reload keeps the session; closing the tab ends it), refreshed a minute before the access
// token expires.
import { graphql } from './gql';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: string;
}

export const SignInMutation = graphql(`
  mutation SignIn($email: String!, $password: String!) {
    signIn(email: $email, password: $password) {
      accessToken
      refreshToken
      accessTokenExpiresAt
      user { id email role }
    }
  }
`);

export const RefreshSessionMutation = graphql(`
  mutation RefreshSession($refreshToken: String!) {
    refreshSession(refreshToken: $refreshToken) {
      accessToken
      refreshToken
      accessTokenExpiresAt
      user { id email role }
    }
  }
`);

export const SignOutMutation = graphql(`
  mutation SignOut {
    signOut
  }
`);

const REFRESH_KEY = 'crm.refreshToken';

let current: Tokens | null = null;

export function accessToken(): string | null {
  return current?.accessToken ?? null;
}

export function storedRefreshToken(): string | null {
  return sessionStorage.getItem(REFRESH_KEY);
}

export function remember(tokens: Tokens | null): void {
  current = tokens;
  if (tokens) {
    sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
  } else {
    sessionStorage.removeItem(REFRESH_KEY);
  }
}

/** Milliseconds until the access token should be refreshed (a minute before it expires). */
export function refreshDelay(tokens: Tokens, now = Date.now()): number {
  return Math.max(0, Date.parse(tokens.accessTokenExpiresAt) - now - 60_000);
}
