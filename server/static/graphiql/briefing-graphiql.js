// GraphiQL for Bangguseok Briefing, served from this origin only (see server/graphiql.py).
//
// Queries and mutations go over HTTP POST to the endpoint named by #graphiql[data-endpoint];
// subscriptions go over WebSocket (graphql-transport-ws, via the graphql-ws client) to the same
// path, ws:// or wss:// to match the page. The server wants the token in the connection_init
// payload as {"authorization": "Bearer <token>"}: it is taken from the Authorization header
// typed in GraphiQL's Headers editor, with one WebSocket client per distinct value.
//
// Globals from the vendored UMD builds: React, ReactDOM, GraphiQL, graphqlWs.
(function () {
  "use strict";

  var DEFAULT_QUERY = [
    "# Welcome to Bangguseok Briefing.",
    "#",
    "# 1. Run Login (pick it from the run button's menu).",
    "#    A new username signs up.",
    "# 2. Copy the token into the Headers tab below:",
    '#      {"Authorization": "Bearer <token>"}',
    "# 3. Run Briefing: a caption every 5 s until 23:00.",
    "# 4. Stop it with the stop button, or run",
    "#    EndBriefing from a new tab (same Headers).",
    "",
    "mutation Login {",
    '  login(username: "alice", password: "secret123") {',
    "    message",
    "    userId",
    "    token",
    "  }",
    "}",
    "",
    "subscription Briefing {",
    '  briefing(interval: 5, endtime: "23:00") {',
    "    __typename",
    "    ... on Briefing { seq caption }",
    "  }",
    "}",
    "",
    "mutation EndBriefing {",
    "  endBriefing { message }",
    "}",
    "",
  ].join("\n");

  var root = document.getElementById("graphiql");
  var endpoint = new URL(root.getAttribute("data-endpoint") || "/graphql", window.location.href);
  var httpUrl = endpoint.href;
  var wsEndpoint = new URL(endpoint.href);
  wsEndpoint.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  var wsUrl = wsEndpoint.href;

  /** The headers typed in the Headers editor, keeping only string values. */
  function stringHeaders(headers) {
    var out = {};
    if (headers && typeof headers === "object") {
      Object.keys(headers).forEach(function (key) {
        var value = headers[key];
        if (typeof value === "string" || typeof value === "number") out[key] = String(value);
      });
    }
    return out;
  }

  /** The Authorization header's value, matched case-insensitively, or "". */
  function authorizationOf(headers) {
    var keys = Object.keys(headers);
    for (var i = 0; i < keys.length; i += 1) {
      if (keys[i].toLowerCase() === "authorization") return headers[keys[i]].trim();
    }
    return "";
  }

  /** Whether the operation GraphiQL is about to run is a subscription. */
  function isSubscription(params, opts) {
    var doc = opts && opts.documentAST;
    if (doc && Array.isArray(doc.definitions)) {
      var operations = doc.definitions.filter(function (d) {
        return d.kind === "OperationDefinition";
      });
      var chosen = operations.filter(function (d) {
        return params.operationName ? d.name && d.name.value === params.operationName : true;
      })[0];
      if (chosen) return chosen.operation === "subscription";
    }
    // No parsed document (e.g. a plugin calling the fetcher): look at the text.
    var text = String(params.query || "").replace(/#[^\n\r]*/g, "");
    if (params.operationName) {
      var name = String(params.operationName).replace(/[^_0-9A-Za-z]/g, "");
      var named = new RegExp("\\bsubscription\\s+" + name + "\\b");
      return named.test(text);
    }
    return /^\s*subscription\b/.test(text);
  }

  /** Queries and mutations: POST to the GraphQL endpoint with the editor's headers. */
  function httpFetch(params, headers) {
    var requestHeaders = Object.assign(
      {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json",
      },
      headers,
    );
    return fetch(httpUrl, {
      method: "POST",
      headers: requestHeaders,
      body: JSON.stringify(params),
      credentials: "same-origin",
    }).then(function (response) {
      return response.text().then(function (text) {
        try {
          return JSON.parse(text);
        } catch (err) {
          throw new Error("HTTP " + response.status + " from " + httpUrl + ": " + text.slice(0, 500));
        }
      });
    });
  }

  // One lazy graphql-ws client per distinct Authorization value; a lazy client holds a socket
  // only while it has running subscriptions. Idle clients for other values are disposed.
  var wsClients = new Map();

  function wsClientFor(authorization) {
    var entry = wsClients.get(authorization);
    if (entry) return entry;
    wsClients.forEach(function (other, key) {
      if (other.active === 0) {
        other.client.dispose();
        wsClients.delete(key);
      }
    });
    entry = {
      active: 0,
      client: graphqlWs.createClient({
        url: wsUrl,
        lazy: true,
        // No automatic resubscription: re-running `briefing` would start a new briefing
        // (replacing the one in progress). Run it again by hand; reloadBriefing resumes.
        retryAttempts: 0,
        connectionParams: authorization ? { authorization: authorization } : {},
      }),
    };
    wsClients.set(authorization, entry);
    return entry;
  }

  function closeMessage(event, authorization) {
    var text = "WebSocket " + wsUrl + " closed";
    if (event && typeof event.code === "number") {
      text += " with code " + event.code + (event.reason ? ": " + event.reason : "");
    }
    if (!authorization) {
      text +=
        '. Subscriptions need a token: run the login mutation and put {"Authorization": "Bearer <token>"} in Headers.';
    } else if (event && (event.code === 4401 || event.code === 4403)) {
      text += ". The token in Headers was refused: log in again and paste the new token.";
    }
    return text;
  }

  /** Subscriptions: an Observable GraphiQL can subscribe to, fed by graphql-ws. */
  function wsSubscribe(params, headers) {
    var authorization = authorizationOf(headers);
    return {
      subscribe: function (observer) {
        var entry = wsClientFor(authorization);
        var done = false;
        entry.active += 1;
        function finish() {
          if (!done) {
            done = true;
            entry.active -= 1;
          }
        }
        var dispose = entry.client.subscribe(
          {
            query: params.query,
            variables: params.variables || undefined,
            operationName: params.operationName || undefined,
          },
          {
            next: function (value) {
              observer.next(value);
            },
            error: function (err) {
              finish();
              if (Array.isArray(err)) {
                // GraphQL errors from an `error` message: show them as a result.
                observer.next({ errors: err });
                observer.complete();
              } else if (err instanceof Error) {
                observer.error(err);
              } else {
                // A CloseEvent: say why, as a GraphQL-style error without a stack trace.
                observer.next({ errors: [{ message: closeMessage(err, authorization) }] });
                observer.complete();
              }
            },
            complete: function () {
              finish();
              observer.complete();
            },
          },
        );
        return {
          unsubscribe: function () {
            finish();
            dispose();
          },
        };
      },
    };
  }

  function fetcher(params, opts) {
    var headers = stringHeaders(opts && opts.headers);
    if (isSubscription(params, opts)) return wsSubscribe(params, headers);
    return httpFetch(params, headers);
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();
