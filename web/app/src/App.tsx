// The shell: header with navigation, language and logout; the page for the current path.
import { useApolloClient, useMutation } from "@apollo/client/react";
import { useEffect, useRef, useState, useSyncExternalStore } from "react";

import type { Api } from "./apollo";
import { LogoutDocument } from "./generated/graphql";
import { useI18n, type MessageKey } from "./i18n";
import { LiveBriefing } from "./live";
import { HistoryPage } from "./pages/History";
import { LivePage } from "./pages/Live";
import { RequestPage } from "./pages/Request";
import { SettingsPage } from "./pages/Settings";
import { SignIn } from "./pages/SignIn";
import { Link, match, usePath, type Route } from "./router";
import { signOut, useSession } from "./session";

const NAV: Array<{ to: string; key: MessageKey; page: Route["page"] }> = [
  { to: "/live", key: "navLive", page: "live" },
  { to: "/history", key: "navHistory", page: "history" },
  { to: "/settings", key: "navSettings", page: "settings" },
];

function LiveDot({ live }: { live: LiveBriefing }) {
  const { t } = useI18n();
  const state = useSyncExternalStore(live.subscribe, live.getState);
  if (state.phase !== "running") return null;
  return (
    <span className="live-dot" title={t("liveNow")}>
      <span className="visually-hidden">{t("liveNow")}</span>
    </span>
  );
}

function Header({ live, username, onLogout }: { live: LiveBriefing | null; username: string | null; onLogout: () => void }) {
  const { t, lang, setLang } = useI18n();
  const route = match(usePath());
  const current = route.page === "request" ? "history" : route.page;
  return (
    <header className="top">
      <div className="top-inner">
        <Link to="/live" className="brand">
          {t("appName")}
        </Link>
        {username !== null && (
          <nav aria-label={t("mainNav")}>
            <ul>
              {NAV.map((item) => (
                <li key={item.to}>
                  <Link to={item.to} aria-current={current === item.page ? "page" : undefined}>
                    {t(item.key)}
                    {item.page === "live" && live && <LiveDot live={live} />}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        )}
        <div className="top-tools">
          <button
            type="button"
            className="link-button"
            lang={lang === "ko" ? "en" : "ko"}
            aria-label={t("languageLabel")}
            onClick={() => setLang(lang === "ko" ? "en" : "ko")}
          >
            {t("language")}
          </button>
          {username !== null && (
            <>
              <span className="user muted">{t("signedInAs", { name: username })}</span>
              <button type="button" className="link-button" onClick={onLogout}>
                {t("logout")}
              </button>
            </>
          )}
        </div>
      </div>
    </header>
  );
}

const TITLES: Record<Route["page"], MessageKey> = {
  live: "liveTitle",
  history: "historyTitle",
  request: "historyTitle",
  settings: "settingsTitle",
  notFound: "notFoundTitle",
};

export function App({ api }: { api: Api }) {
  const { t } = useI18n();
  const session = useSession();
  const client = useApolloClient();
  const path = usePath();
  const route = match(path);
  const [logout] = useMutation(LogoutDocument);
  const [notice, setNotice] = useState<string | null>(null);
  const [live, setLive] = useState<LiveBriefing | null>(null);
  const main = useRef<HTMLElement>(null);
  const token = session?.token ?? null;

  // One live briefing controller per signed-in session; it keeps following while other pages show.
  useEffect(() => {
    if (token === null) return;
    const controller = new LiveBriefing(api, signOut);
    setLive(controller);
    return () => {
      controller.dispose();
      setLive(null);
    };
  }, [api, token]);

  // Signed out (by the button, an expired token or another tab): forget everything of that user.
  useEffect(() => {
    if (token !== null) return;
    api.dropSocket();
    void client.clearStore();
  }, [api, client, token]);

  // A notice (e.g. "account created") belongs to the page it was shown on.
  const shownAt = useRef(path);
  useEffect(() => {
    if (notice !== null && path !== shownAt.current) setNotice(null);
    shownAt.current = path;
  }, [path, notice]);

  // A new page: its title, and focus on its heading for keyboard and screen-reader users.
  const first = useRef(true);
  useEffect(() => {
    document.title = `${t(session ? TITLES[route.page] : "signInTitle")} · ${t("appName")}`;
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [path, session === null]);

  const doLogout = () => {
    logout()
      .catch(() => undefined) // the token goes either way
      .finally(() => {
        signOut();
        setNotice(null);
      });
  };

  let page;
  if (session === null) {
    page = <SignIn onSignedUp={(name) => setNotice(t("signedUp", { name }))} />;
  } else if (route.page === "live") {
    page = live ? <LivePage live={live} /> : null;
  } else if (route.page === "history") {
    page = <HistoryPage />;
  } else if (route.page === "request") {
    page = <RequestPage key={route.id} id={route.id} />;
  } else if (route.page === "settings") {
    page = <SettingsPage />;
  } else {
    page = (
      <>
        <h1 tabIndex={-1}>{t("notFoundTitle")}</h1>
        <p>
          <Link to="/live">{t("goLive")}</Link>
        </p>
      </>
    );
  }

  return (
    <>
      <a className="skip" href="#main">
        {t("skipToContent")}
      </a>
      <Header live={live} username={session ? session.username : null} onLogout={doLogout} />
      <main id="main" ref={main}>
        {notice && session && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {page}
      </main>
    </>
  );
}
