// The signed-in user: the bearer token and username, kept in localStorage so a reload stays signed in.
import { useSyncExternalStore } from "react";

const TOKEN_KEY = "briefing.token";
const USER_KEY = "briefing.username";

export interface Session {
  token: string;
  username: string;
}

type Listener = () => void;
const listeners = new Set<Listener>();
let current: Session | null = read();

function read(): Session | null {
  try {
    const token = localStorage.getItem(TOKEN_KEY);
    const username = localStorage.getItem(USER_KEY) ?? "";
    return token ? { token, username } : null;
  } catch {
    return null;
  }
}

function emit(): void {
  for (const listener of listeners) listener();
}

/** The current token, for links that add it to every operation. */
export function currentToken(): string | null {
  return current?.token ?? null;
}

export function signIn(session: Session): void {
  current = session;
  try {
    localStorage.setItem(TOKEN_KEY, session.token);
    localStorage.setItem(USER_KEY, session.username);
  } catch {
    // storage unavailable: signed in for this page only
  }
  emit();
}

export function signOut(): void {
  current = null;
  try {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
  } catch {
    // nothing stored
  }
  emit();
}

function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  const onStorage = (event: StorageEvent) => {
    if (event.key === TOKEN_KEY || event.key === null) {
      current = read();
      listener();
    }
  };
  window.addEventListener("storage", onStorage); // signed in or out in another tab
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", onStorage);
  };
}

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, () => current);
}
