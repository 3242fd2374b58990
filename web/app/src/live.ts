// The live briefing, outside React: starts one, follows it, and resumes it after a page reload or
// a dropped network with reloadBriefing(after: <last seq shown>) — the server replays the stored
// briefings after that seq and then streams live ones, and anything already shown is dropped by
// seq, so the feed has no gap and no duplicate.
import type { Api } from "./apollo";
import { firstError, isUnauthenticated, type UiError } from "./errors";
import {
  AlertsDocument,
  BriefingsDocument,
  EndBriefingDocument,
  ReloadBriefingDocument,
  RequestsDocument,
  StartBriefingDocument,
  type AlertFieldsFragment,
  type BriefingFieldsFragment,
  type EndReason,
  type EventFieldsFragment,
  type RequestFieldsFragment,
} from "./generated/graphql";

export type Phase = "loading" | "idle" | "starting" | "running" | "ended";
export type LinkState = "connecting" | "live" | "reconnecting" | "offline";

export interface Resumed {
  /** The last seq shown before resuming: the stream restarted right after it. */
  after: number;
  cause: "reload" | "network";
  /** Events that arrived twice (at most the replay overlapping the live tail) and were dropped. */
  dropped: number;
}

export interface LiveState {
  phase: Phase;
  link: LinkState;
  request: RequestFieldsFragment | null;
  /** Briefings in seq order (the newest MAX_ITEMS). */
  items: BriefingFieldsFragment[];
  lastSeq: number;
  /** The request's alerts, oldest first: live ones as they fire, plus the stored ones on (re)load. */
  alerts: AlertFieldsFragment[];
  /** The newest alert that arrived live (not from the store), for the banner; null once dismissed. */
  latestAlert: AlertFieldsFragment | null;
  endReason: EndReason | null;
  resumed: Resumed | null;
  error: UiError | null;
  ending: boolean;
}

export interface StartInput {
  interval: number;
  endtime: string;
  cameraId: string;
}

const MAX_ITEMS = 2_000;
const MAX_ALERTS = 200;
const RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 8_000];

const INITIAL: LiveState = {
  phase: "loading",
  link: "connecting",
  request: null,
  items: [],
  lastSeq: 0,
  alerts: [],
  latestAlert: null,
  endReason: null,
  resumed: null,
  error: null,
  ending: false,
};

interface Unsubscribable {
  unsubscribe(): void;
}

export class LiveBriefing {
  private state: LiveState = INITIAL;
  private readonly listeners = new Set<() => void>();
  private current: Unsubscribable | null = null;
  private generation = 0;
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private endFallback: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly api: Api,
    private readonly onUnauthenticated: () => void,
  ) {
    const offline = () => this.wentOffline();
    const online = () => this.cameOnline();
    window.addEventListener("offline", offline);
    window.addEventListener("online", online);
    this.cleanups.push(
      () => window.removeEventListener("offline", offline),
      () => window.removeEventListener("online", online),
      api.onClosed(() => this.socketClosed()),
    );
    void this.load("reload");
  }

  // --- React's view of it (useSyncExternalStore) -------------------------------------------------

  getState = (): LiveState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(patch: Partial<LiveState>): void {
    if (this.disposed) return;
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  // --- actions --------------------------------------------------------------------------------

  /** Find the running briefing (if any), show what it stored so far and follow it from there. */
  async load(cause: Resumed["cause"]): Promise<void> {
    this.stop();
    this.set({ phase: "loading", error: null });
    try {
      const { data } = await this.api.client.query({ query: RequestsDocument, fetchPolicy: "network-only" });
      const active = data?.requests.find((request) => request.active) ?? null;
      if (active === null) {
        this.set({ ...INITIAL, phase: "idle" });
        return;
      }
      const stored = await this.api.client.query({
        query: BriefingsDocument,
        variables: { requestId: active.id },
        fetchPolicy: "network-only",
      });
      const items = (stored.data?.briefings ?? []).slice(-MAX_ITEMS);
      const lastSeq = items.at(-1)?.seq ?? 0;
      this.set({ ...INITIAL, phase: "running", request: active, items, lastSeq });
      this.follow(cause);
      void this.catchUpAlerts(active.id);
    } catch (error) {
      this.failed(error, () => void this.load(cause));
    }
  }

  start(input: StartInput): void {
    this.stop();
    this.retries = 0;
    this.set({ ...INITIAL, phase: "starting", link: "connecting" });
    const generation = ++this.generation;
    this.current = this.api.client
      .subscribe({ query: StartBriefingDocument, variables: input })
      .subscribe({
        next: (result) => {
          if (generation !== this.generation) return;
          if (result.error) this.streamFailed(result.error, "start");
          else if (result.data) this.receive(result.data.briefing);
        },
        complete: () => generation === this.generation && this.streamCompleted(),
      });
  }

  async end(): Promise<void> {
    this.set({ ending: true, error: null });
    try {
      await this.api.client.mutate({ mutation: EndBriefingDocument });
      // BriefingEnded normally arrives on the stream; if the stream is down, look it up.
      clearTimeout(this.endFallback);
      this.endFallback = setTimeout(() => {
        if (this.state.phase === "running") void this.load("network");
      }, 3_000);
    } catch (error) {
      if (isUnauthenticated(error)) return this.onUnauthenticated();
      const problem = firstError(error);
      if (problem.code === "NOT_FOUND") void this.load("network"); // it had already ended
      else this.set({ error: problem, ending: false });
    }
  }

  /** Hide the alert banner (the alert stays in the feed). */
  dismissAlert(): void {
    this.set({ latestAlert: null });
  }

  /** Back to the form after an ended briefing. */
  reset(): void {
    this.stop();
    this.set({ ...INITIAL, phase: "idle" });
  }

  dispose(): void {
    this.stop();
    clearTimeout(this.endFallback);
    for (const cleanup of this.cleanups) cleanup();
    this.disposed = true;
    this.listeners.clear();
  }

  // --- the stream -----------------------------------------------------------------------------

  private follow(cause: Resumed["cause"]): void {
    this.stop();
    const after = this.state.lastSeq;
    if (!navigator.onLine) {
      this.set({ link: "offline" });
      return;
    }
    this.set({ link: this.retries > 0 ? "reconnecting" : "connecting" });
    const generation = ++this.generation;
    this.current = this.api.client
      .subscribe({ query: ReloadBriefingDocument, variables: { after } })
      .subscribe({
        next: (result) => {
          if (generation !== this.generation) return;
          if (result.error) return this.streamFailed(result.error, "follow");
          if (result.data) this.receive(result.data.reloadBriefing);
        },
        complete: () => generation === this.generation && this.streamCompleted(),
      });
    // The subscription goes out as soon as the socket is acknowledged; from then on the server's
    // replay covers everything after `after`.
    const connected = () => {
      if (generation !== this.generation) return;
      this.retries = 0;
      this.set({ link: "live", resumed: { after, cause, dropped: 0 } });
      // Alerts are live-only on the stream: the ones that fired while we were away come from the store.
      const request = this.state.request;
      if (cause === "network" && request !== null) void this.catchUpAlerts(request.id);
    };
    if (this.api.isConnected()) {
      connected();
      return;
    }
    const unsubscribeConnected = this.api.ws.on("connected", () => {
      unsubscribeConnected();
      connected();
    });
  }

  private receive(event: EventFieldsFragment): void {
    const { request } = this.state;
    switch (event.__typename) {
      case "BriefingStarted":
        this.retries = 0;
        this.set({ phase: "running", link: "live", request: event.request, error: null });
        return;
      case "Briefing": {
        if (request !== null && event.requestId !== request.id) {
          // reloadBriefing follows the newest request: ours was replaced elsewhere.
          void this.load("network");
          return;
        }
        if (event.seq <= this.state.lastSeq) {
          const resumed = this.state.resumed;
          if (resumed) this.set({ resumed: { ...resumed, dropped: resumed.dropped + 1 } });
          return;
        }
        const items = [...this.state.items, event];
        if (items.length > MAX_ITEMS) items.splice(0, items.length - MAX_ITEMS);
        this.set({ items, lastSeq: event.seq, link: "live" });
        return;
      }
      case "Alert":
        if (request !== null && event.requestId !== request.id) return;
        if (this.addAlerts([event])) this.set({ latestAlert: event });
        return;
      case "BriefingEnded":
        if (request !== null && event.request.id !== request.id) return;
        clearTimeout(this.endFallback);
        this.stop();
        this.set({ phase: "ended", request: event.request, endReason: event.reason, ending: false });
        return;
    }
  }

  /** Merge alerts into the list (by id, oldest first); whether any was new. */
  private addAlerts(incoming: readonly AlertFieldsFragment[]): boolean {
    const known = new Set(this.state.alerts.map((alert) => alert.id));
    const fresh = incoming.filter((alert) => !known.has(alert.id));
    if (fresh.length === 0) return false;
    const alerts = [...this.state.alerts, ...fresh].sort((a, b) => Date.parse(a.firedAt) - Date.parse(b.firedAt));
    if (alerts.length > MAX_ALERTS) alerts.splice(0, alerts.length - MAX_ALERTS);
    this.set({ alerts });
    return true;
  }

  /** The request's stored alerts (a reload or an outage missed the live ones); best effort. */
  private async catchUpAlerts(requestId: string): Promise<void> {
    try {
      const { data } = await this.api.client.query({
        query: AlertsDocument,
        variables: { requestId, limit: 50 },
        fetchPolicy: "network-only",
      });
      if (this.state.request?.id !== requestId) return; // another request meanwhile
      this.addAlerts(data?.alerts ?? []);
    } catch {
      // The feed works without them; the request page lists them.
    }
  }

  private streamFailed(error: unknown, stage: "start" | "follow"): void {
    this.stop();
    if (isUnauthenticated(error)) return this.onUnauthenticated();
    const problem = firstError(error);
    if (problem.code === "NETWORK") {
      // The socket closed. A start that never said BriefingStarted may still have started: look.
      if (stage === "start" && this.state.phase === "starting") this.retryLater(() => void this.load("network"));
      else this.retryLater(() => this.follow("network"));
      return;
    }
    if (problem.code === "RATE_LIMITED") {
      const wait = (problem.retryAfter ?? 1) * 1000;
      this.retryLater(() => (stage === "start" ? this.set({ ...INITIAL, phase: "idle", error: problem }) : this.follow("network")), wait);
      return;
    }
    if (stage === "start") {
      this.set({ ...INITIAL, phase: "idle", error: problem }); // e.g. BAD_USER_INPUT, shown by its field
      return;
    }
    if (problem.code === "NOT_FOUND") {
      void this.load("network");
      return;
    }
    this.set({ error: problem });
    this.retryLater(() => this.follow("network"));
  }

  private streamCompleted(): void {
    // A stream completes after BriefingEnded (already handled) or when the server closed it.
    if (this.state.phase === "running" || this.state.phase === "starting") {
      this.stop();
      this.retryLater(() => (this.state.phase === "starting" ? void this.load("network") : this.follow("network")));
    }
  }

  private socketClosed(): void {
    // Dispose at once, before graphql-ws could re-send anything on a new socket.
    if (this.current !== null && (this.state.phase === "running" || this.state.phase === "starting")) {
      const starting = this.state.phase === "starting";
      this.stop();
      this.retryLater(() => (starting ? void this.load("network") : this.follow("network")));
    }
  }

  private wentOffline(): void {
    if (this.state.phase !== "running" && this.state.phase !== "starting") return;
    this.stop();
    this.api.dropSocket();
    this.set({ link: "offline" });
  }

  private cameOnline(): void {
    if (this.state.link !== "offline" && this.state.link !== "reconnecting") return;
    clearTimeout(this.retryTimer);
    this.retries = 0;
    if (this.state.phase === "running") this.follow("network");
    else if (this.state.phase === "starting") void this.load("network");
  }

  private retryLater(action: () => void, delay?: number): void {
    clearTimeout(this.retryTimer);
    if (!navigator.onLine) {
      this.set({ link: "offline" });
      return; // `online` resumes
    }
    const wait = delay ?? RETRY_DELAYS_MS[Math.min(this.retries, RETRY_DELAYS_MS.length - 1)] ?? 8_000;
    this.retries += 1;
    this.set({ link: "reconnecting" });
    this.retryTimer = setTimeout(action, wait);
  }

  private failed(error: unknown, again: () => void): void {
    if (isUnauthenticated(error)) return this.onUnauthenticated();
    const problem = firstError(error);
    if (problem.code === "NETWORK") {
      this.retryLater(again);
      return;
    }
    this.set({ phase: "idle", error: problem });
  }

  private stop(): void {
    clearTimeout(this.retryTimer);
    this.generation += 1;
    const current = this.current;
    this.current = null;
    current?.unsubscribe();
  }
}
