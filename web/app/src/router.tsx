// A few client-side routes on the History API; the server answers every one of them with index.html.
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

const NAVIGATED = "briefing:navigate";

function subscribe(listener: () => void): () => void {
  window.addEventListener("popstate", listener);
  window.addEventListener(NAVIGATED, listener);
  return () => {
    window.removeEventListener("popstate", listener);
    window.removeEventListener(NAVIGATED, listener);
  };
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

export function navigate(to: string, { replace = false } = {}): void {
  if (to === window.location.pathname) return;
  if (replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATED));
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string };

export function Link({ to, onClick, ...rest }: LinkProps) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...rest} />;
}

export type Route =
  | { page: "live" }
  | { page: "history" }
  | { page: "request"; id: string }
  | { page: "settings" }
  | { page: "notFound" };

export function match(path: string): Route {
  if (path === "/" || path === "/live") return { page: "live" };
  if (path === "/history") return { page: "history" };
  const request = /^\/history\/([A-Za-z0-9]{1,64})$/.exec(path);
  if (request?.[1]) return { page: "request", id: request[1] };
  if (path === "/settings") return { page: "settings" };
  return { page: "notFound" };
}
