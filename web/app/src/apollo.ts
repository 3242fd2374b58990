// Apollo Client for this origin: queries and mutations over HTTP POST /graphql with the bearer
// token, subscriptions over the WebSocket (graphql-transport-ws) with the token in connection_init.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient, type Client } from "graphql-ws";

import possibleTypes from "../../possible-types.json";
import { currentToken } from "./session";

/** How long a ping may wait for its pong before the socket is taken for dead. */
const PONG_TIMEOUT_MS = 5_000;
const KEEP_ALIVE_MS = 10_000;

export interface Closed {
  code: number;
  reason: string;
}

export interface Api {
  client: ApolloClient;
  ws: Client;
  /** Called with every close of the WebSocket (before graphql-ws decides anything about it). */
  onClosed: (listener: (closed: Closed) => void) => () => void;
  /** Drop the socket now (sign-out, offline); the next subscription opens a new one. */
  dropSocket: () => void;
  /** Whether a socket is open and acknowledged (a new subscription goes out at once). */
  isConnected: () => boolean;
}

function socketUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/graphql`;
}

export function createApi(): Api {
  const closedListeners = new Set<(closed: Closed) => void>();
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  let socket: WebSocket | null = null;

  const ws = createClient({
    url: socketUrl(),
    connectionParams: () => {
      const token = currentToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    lazy: true,
    // Keep the socket a moment after the last subscription ends, so a resubscription reuses it.
    lazyCloseTimeout: 3_000,
    // A dropped socket is resumed by the caller with reloadBriefing(after): graphql-ws must never
    // re-send an operation by itself (re-sending `briefing` would start another briefing).
    retryAttempts: 0,
    shouldRetry: () => false,
    keepAlive: KEEP_ALIVE_MS,
    on: {
      connected: (connected) => {
        socket = connected as WebSocket;
      },
      ping: (received) => {
        if (received) return;
        pongTimer = setTimeout(() => {
          if (socket?.readyState === WebSocket.OPEN) socket.close(4408, "Pong timeout");
        }, PONG_TIMEOUT_MS);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
      closed: (event) => {
        clearTimeout(pongTimer);
        socket = null;
        const closed = event as Partial<CloseEvent>;
        const info = { code: closed.code ?? 0, reason: closed.reason ?? "" };
        for (const listener of closedListeners) listener(info);
      },
    },
  });

  const http = new HttpLink({ uri: "/graphql" });
  const auth = new SetContextLink((previous) => {
    const token = currentToken();
    return token ? { headers: { ...previous.headers, authorization: `Bearer ${token}` } } : {};
  });

  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(ws),
    ApolloLink.from([auth, http]),
  );

  const client = new ApolloClient({
    link,
    cache: new InMemoryCache({
      // Without possibleTypes, fragments on the BriefingEvent union silently lose their fields.
      possibleTypes,
      typePolicies: {
        // Every BriefingEvent member has an id (`<request>:started`, the briefing's, `<request>:ended`),
        // so subscription results normalise and replace each other without merge warnings.
        Summary: { keyFields: ["requestId"] },
        ClassCount: { keyFields: false },
        ZoneCount: { keyFields: false },
        Webhook: { keyFields: false },
        WebhookResult: { keyFields: false },
        LoginResult: { keyFields: false },
        MessageResult: { keyFields: false },
        Query: { fields: { briefings: { keyArgs: ["requestId"] }, alerts: { keyArgs: ["requestId", "limit"] } } },
      },
    }),
  });

  return {
    client,
    ws,
    onClosed: (listener) => {
      closedListeners.add(listener);
      return () => closedListeners.delete(listener);
    },
    dropSocket: () => ws.terminate(),
    isConnected: () => socket !== null && socket.readyState === WebSocket.OPEN,
  };
}
