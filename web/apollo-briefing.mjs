#!/usr/bin/env node
// Apollo Client (Node) driver for the Bangguseok Briefing GraphQL API.
//
// It logs in over HTTP, subscribes to `briefing` over WebSocket (graphql-transport-ws,
// token in the connection_init payload) through Apollo Client's split link, prints every
// event as one JSON line on stdout, ends the briefing with the `endBriefing` mutation after
// N `Briefing` events, waits for `BriefingEnded` and the completion of the stream, and
// prints a final `{"summary": ...}` line.
//
// Exit status: 0 success, 1 failure (network, GraphQL or protocol error), 2 usage error,
// 3 timeout. Diagnostics go to stderr; stdout carries only JSON lines.

import { parseArgs } from "node:util";

import {
  ApolloClient,
  ApolloLink,
  HttpLink,
  InMemoryCache,
  gql,
} from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const USAGE = `usage: node web/apollo-briefing.mjs --http URL [--ws URL] --username NAME --password PASS
         [--interval SECONDS] [--endtime TIME] [--camera-id ID] [--min-briefings N]
         [--no-end] [--timeout SECONDS]

  --http URL           GraphQL HTTP endpoint, e.g. http://127.0.0.1:8000/graphql (required)
  --ws URL             GraphQL WebSocket endpoint (default: --http with ws:// or wss://)
  --username NAME      user to log in as; an unknown name signs up (required)
  --password PASS      password (required)
  --interval SECONDS   seconds between briefings (default 1)
  --endtime TIME       when the briefing ends: ISO date-time or HH:MM (default: now + 10 min, ISO)
  --camera-id ID       camera to watch (default: the server's default, "demo")
  --min-briefings N    Briefing events to receive before calling endBriefing (default 3)
  --no-end             never call endBriefing; wait for the server to end the briefing
  --timeout SECONDS    give up after this long (default 60)

stdout: one JSON line per subscription event (the BriefingEvent object, with __typename),
then {"summary": {...}}. Exit 0 ok, 1 failure, 2 usage error, 3 timeout.`;

const LOGIN = gql`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      message
      userId
      token
    }
  }
`;

const END_BRIEFING = gql`
  mutation EndBriefing {
    endBriefing {
      message
    }
  }
`;

const BRIEFING = gql`
  subscription Briefing($interval: Int!, $endtime: String!, $cameraId: ID) {
    briefing(interval: $interval, endtime: $endtime, cameraId: $cameraId) {
      __typename
      ... on BriefingStarted {
        request {
          id
          status
        }
      }
      ... on Briefing {
        seq
        caption
        captionSource
        counts {
          label
          count
        }
        error
      }
      ... on BriefingEnded {
        reason
        request {
          id
          status
        }
      }
    }
  }
`;

class UsageError extends Error {}
class TimeoutError extends Error {}

/** Parse and validate the command line; throws UsageError. */
function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        http: { type: "string" },
        ws: { type: "string" },
        username: { type: "string" },
        password: { type: "string" },
        interval: { type: "string", default: "1" },
        endtime: { type: "string" },
        "camera-id": { type: "string" },
        "min-briefings": { type: "string", default: "3" },
        "no-end": { type: "boolean", default: false },
        timeout: { type: "string", default: "60" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    throw new UsageError(err.message);
  }
  const v = parsed.values;
  if (v.help) return { help: true };
  for (const name of ["http", "username", "password"]) {
    if (!v[name]) throw new UsageError(`--${name} is required`);
  }
  let httpUrl;
  try {
    httpUrl = new URL(v.http);
  } catch {
    throw new UsageError(`--http is not a URL: ${v.http}`);
  }
  if (httpUrl.protocol !== "http:" && httpUrl.protocol !== "https:") {
    throw new UsageError(`--http must be an http:// or https:// URL: ${v.http}`);
  }
  let wsUrl;
  if (v.ws) {
    try {
      wsUrl = new URL(v.ws);
    } catch {
      throw new UsageError(`--ws is not a URL: ${v.ws}`);
    }
    if (wsUrl.protocol !== "ws:" && wsUrl.protocol !== "wss:") {
      throw new UsageError(`--ws must be a ws:// or wss:// URL: ${v.ws}`);
    }
  } else {
    wsUrl = new URL(httpUrl);
    wsUrl.protocol = httpUrl.protocol === "https:" ? "wss:" : "ws:";
  }
  const interval = toInt(v.interval, "--interval", 1);
  const minBriefings = toInt(v["min-briefings"], "--min-briefings", 0);
  const timeout = Number(v.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds: ${v.timeout}`);
  }
  const endtime = v.endtime ?? new Date(Date.now() + 10 * 60 * 1000).toISOString();
  return {
    help: false,
    http: httpUrl.href,
    ws: wsUrl.href,
    username: v.username,
    password: v.password,
    interval,
    endtime,
    cameraId: v["camera-id"] ?? null,
    minBriefings,
    noEnd: v["no-end"],
    timeoutMs: timeout * 1000,
  };
}

function toInt(text, flag, min) {
  if (!/^\d+$/.test(String(text))) throw new UsageError(`${flag} must be an integer: ${text}`);
  const n = Number(text);
  if (n < min) throw new UsageError(`${flag} must be at least ${min}: ${text}`);
  return n;
}

/** One readable line for any error Apollo, fetch, graphql-ws or ws may produce. */
function describe(err) {
  if (err == null) return String(err);
  // A graphql-ws close event, or an array of GraphQL errors from the sink.
  if (Array.isArray(err)) return err.map((e) => e?.message ?? JSON.stringify(e)).join("; ");
  if (typeof err === "object" && "code" in err && "reason" in err && !(err instanceof Error)) {
    return `WebSocket closed with code ${err.code}${err.reason ? `: ${err.reason}` : ""}`;
  }
  if (err instanceof Error) {
    const parts = [err.message];
    let cause = err.cause;
    for (let depth = 0; cause && depth < 5; depth += 1) {
      const text = cause instanceof Error ? cause.message : describe(cause);
      if (text && !parts.includes(text)) parts.push(text);
      // AggregateError (e.g. ECONNREFUSED on both ::1 and 127.0.0.1).
      if (cause.errors && Array.isArray(cause.errors)) {
        for (const inner of cause.errors) {
          const innerText = inner?.message;
          if (innerText && !parts.includes(innerText)) parts.push(innerText);
        }
      }
      cause = cause.cause;
    }
    return parts.join(": ");
  }
  if (typeof err === "object") {
    if (typeof err.message === "string") return err.message;
    try {
      return JSON.stringify(err);
    } catch {
      return String(err);
    }
  }
  return String(err);
}

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function log(message) {
  process.stderr.write(`apollo-briefing: ${message}\n`);
}

/** Run the scenario; resolves to the summary object or throws. */
async function run(opts, state) {
  const httpLink = new HttpLink({ uri: opts.http });
  // Every HTTP operation carries the token once we have one.
  const authLink = new ApolloLink((operation, forward) => {
    if (state.token) {
      operation.setContext(({ headers = {} }) => ({
        headers: { ...headers, authorization: `Bearer ${state.token}` },
      }));
    }
    return forward(operation);
  });

  const wsClient = createClient({
    url: opts.ws,
    webSocketImpl: WebSocket,
    connectionParams: () => ({ authorization: `Bearer ${state.token}` }),
    lazy: true,
    retryAttempts: 0,
    shouldRetry: () => false,
  });
  state.wsClient = wsClient;

  const link = ApolloLink.split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === "OperationDefinition" && def.operation === "subscription";
    },
    new GraphQLWsLink(wsClient),
    ApolloLink.from([authLink, httpLink]),
  );

  const client = new ApolloClient({
    link,
    cache: new InMemoryCache({
      possibleTypes: { BriefingEvent: ["BriefingStarted", "Briefing", "BriefingEnded"] },
    }),
    defaultOptions: {
      query: { fetchPolicy: "no-cache" },
      mutate: { fetchPolicy: "no-cache" },
    },
  });
  state.client = client;

  // 1. Log in (or sign up) over HTTP.
  let login;
  try {
    const result = await client.mutate({
      mutation: LOGIN,
      variables: { username: opts.username, password: opts.password },
    });
    login = result.data?.login;
  } catch (err) {
    throw new Error(`login over HTTP (${opts.http}) failed: ${describe(err)}`);
  }
  if (!login?.token) throw new Error(`login returned no token: ${JSON.stringify(login)}`);
  state.token = login.token;
  log(`logged in as ${opts.username} (${login.message}, userId ${login.userId})`);

  // 2. Subscribe over WebSocket and drive the scenario.
  const summary = {
    ok: false,
    username: opts.username,
    userId: login.userId,
    loginMessage: login.message,
    requestId: null,
    events: 0,
    briefings: 0,
    seqs: [],
    captionSources: {},
    errors: 0,
    endBriefingCalled: false,
    endMessage: null,
    endReason: null,
    endRequestStatus: null,
    completed: false,
  };
  state.summary = summary;

  await new Promise((resolve, reject) => {
    let ended = false;
    let ending = false;
    const fail = (err) => {
      state.subscription?.unsubscribe();
      reject(err instanceof Error ? err : new Error(describe(err)));
    };

    const endBriefing = () => {
      if (ending || opts.noEnd) return;
      ending = true;
      summary.endBriefingCalled = true;
      log(`received ${summary.briefings} briefing(s); calling endBriefing`);
      client
        .mutate({ mutation: END_BRIEFING })
        .then((result) => {
          summary.endMessage = result.data?.endBriefing?.message ?? null;
          log(`endBriefing: ${summary.endMessage}`);
        })
        .catch((err) => fail(new Error(`endBriefing over HTTP failed: ${describe(err)}`)));
    };

    const observable = client.subscribe({
      query: BRIEFING,
      // Leave cameraId out unless given, so the server's default camera applies
      // (an explicit null would override the argument's default).
      variables: {
        interval: opts.interval,
        endtime: opts.endtime,
        ...(opts.cameraId === null ? {} : { cameraId: opts.cameraId }),
      },
      fetchPolicy: "no-cache",
    });

    state.subscription = observable.subscribe({
      next(result) {
        if (result.error) {
          fail(new Error(`subscription error: ${describe(result.error)}`));
          return;
        }
        const event = result.data?.briefing;
        if (!event) {
          fail(new Error(`subscription result without data.briefing: ${JSON.stringify(result)}`));
          return;
        }
        emit(event);
        summary.events += 1;
        if (ended) {
          fail(new Error(`event after BriefingEnded: ${JSON.stringify(event)}`));
          return;
        }
        switch (event.__typename) {
          case "BriefingStarted":
            if (summary.events !== 1) {
              fail(new Error("BriefingStarted was not the first event"));
              return;
            }
            summary.requestId = event.request?.id ?? null;
            if (opts.minBriefings === 0) endBriefing();
            break;
          case "Briefing": {
            if (summary.requestId === null) {
              fail(new Error("Briefing arrived before BriefingStarted"));
              return;
            }
            const last = summary.seqs.at(-1);
            if (last !== undefined && !(event.seq > last)) {
              fail(new Error(`Briefing seq ${event.seq} after seq ${last}: duplicate or out of order`));
              return;
            }
            summary.seqs.push(event.seq);
            summary.briefings += 1;
            const source = event.captionSource ?? "null";
            summary.captionSources[source] = (summary.captionSources[source] ?? 0) + 1;
            if (event.error) summary.errors += 1;
            if (summary.briefings >= opts.minBriefings) endBriefing();
            break;
          }
          case "BriefingEnded":
            ended = true;
            summary.endReason = event.reason ?? null;
            summary.endRequestStatus = event.request?.status ?? null;
            if (summary.requestId !== null && event.request?.id !== summary.requestId) {
              fail(
                new Error(
                  `BriefingEnded for request ${event.request?.id}, started ${summary.requestId}`,
                ),
              );
            }
            break;
          default:
            fail(new Error(`unknown event type ${event.__typename}`));
        }
      },
      error(err) {
        fail(new Error(`subscription failed (${opts.ws}): ${describe(err)}`));
      },
      complete() {
        summary.completed = true;
        if (!ended) {
          fail(new Error("subscription completed without a BriefingEnded event"));
        } else if (summary.briefings < opts.minBriefings) {
          fail(
            new Error(
              `briefing ended (${summary.endReason}) after ${summary.briefings} ` +
                `briefing(s), fewer than --min-briefings ${opts.minBriefings}`,
            ),
          );
        } else {
          resolve();
        }
      },
    });
  });

  summary.ok = true;
  return summary;
}

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`apollo-briefing: error: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const started = Date.now();
  const state = { token: null, client: null, wsClient: null, subscription: null, summary: null };
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`timed out after ${opts.timeoutMs / 1000} s`)),
      opts.timeoutMs,
    );
  });

  let code = 0;
  let summary;
  try {
    summary = await Promise.race([run(opts, state), timeout]);
  } catch (err) {
    code = err instanceof TimeoutError ? 3 : 1;
    process.stderr.write(`apollo-briefing: error: ${err.message ?? describe(err)}\n`);
    summary = state.summary ?? { ok: false, username: opts.username };
    summary.ok = false;
    summary.error = err.message ?? describe(err);
  } finally {
    clearTimeout(timer);
  }
  summary.elapsedSeconds = Math.round((Date.now() - started) / 100) / 10;
  emit({ summary });

  // Clean up without letting a hanging socket keep the process alive.
  try {
    state.subscription?.unsubscribe();
    state.client?.stop();
    await Promise.race([
      Promise.resolve(state.wsClient?.dispose()),
      new Promise((r) => setTimeout(r, 1000)),
    ]);
  } catch {
    // Best effort.
  }
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Flush stdout, then leave even if a handle is still open.
    process.stdout.write("", () => process.exit(code));
  },
  (err) => {
    process.stderr.write(`apollo-briefing: unexpected error: ${err?.stack ?? describe(err)}\n`);
    process.exit(1);
  },
);
