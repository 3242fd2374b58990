// GraphiQL for Bangguseok Briefing, served from this origin only (see server/graphiql.py).
//
// Queries and mutations go over HTTP POST to the endpoint named by #graphiql[data-endpoint];
// subscriptions go over WebSocket (graphql-transport-ws, via the graphql-ws client) to the same
// path, ws:// or wss:// to match the page. The server wants the token in the connection_init
// payload as {"authorization": "Bearer <token>"}: it is taken from the Authorization header
// typed in GraphiQL's Headers editor, with one WebSocket client per distinct value.
//
// Which transport an operation takes is decided from the text being sent (the operation named by
// operationName, or the only one), never from the editor's previous parse, so a subscription
// pasted and run at once goes over the WebSocket. A link such as /graphql?query=…&variables=…
// opens with the editors filled from the URL (nothing runs until the run button is pressed).
// GraphiQL's menus (Radix) add a <style> element while open; it carries the page's style nonce
// (#graphiql[data-style-nonce], fresh per response and allowed by the page's CSP) through the
// __webpack_nonce__ global that the bundled code reads.
//
// Globals from the vendored UMD builds: React, ReactDOM, GraphiQL, graphqlWs. Under Node (the
// tests) the file only exports chooseOperation and operationTypeOf.
(function () {
  "use strict";

  var OPERATION_KEYWORDS = { query: true, mutation: true, subscription: true };

  /**
   * The operations of a GraphQL document's text, in order: [{type, name}] with type "query",
   * "mutation" or "subscription" and name "" when anonymous. Comments, strings, variable
   * definitions and directives are skipped; only the top level of the document is read.
   */
  function operationsOf(text) {
    var source = String(text || "");
    var length = source.length;
    var operations = [];
    var header = []; // names at the top level since the last definition ended
    var braces = 0;
    var parens = 0;
    var afterAt = false;
    var i = 0;
    while (i < length) {
      var c = source.charAt(i);
      if (c === "#") {
        while (i < length && source.charAt(i) !== "\n" && source.charAt(i) !== "\r") i += 1;
      } else if (c === '"') {
        if (source.substr(i, 3) === '"""') {
          i += 3;
          while (i < length && source.substr(i, 3) !== '"""') i += source.substr(i, 4) === '\\"""' ? 4 : 1;
          i += 3;
        } else {
          i += 1;
          while (i < length && source.charAt(i) !== '"' && source.charAt(i) !== "\n") {
            i += source.charAt(i) === "\\" ? 2 : 1;
          }
          i += 1;
        }
      } else if (c === "{") {
        if (braces === 0 && parens === 0) {
          if (header.length === 0) {
            operations.push({ type: "query", name: "" }); // the { … } shorthand
          } else if (OPERATION_KEYWORDS[header[0]]) {
            operations.push({ type: header[0], name: header[1] || "" });
          }
          header = [];
        }
        braces += 1;
        i += 1;
      } else if (c === "}") {
        braces = Math.max(0, braces - 1);
        i += 1;
      } else if (c === "(") {
        parens += 1;
        i += 1;
      } else if (c === ")") {
        parens = Math.max(0, parens - 1);
        i += 1;
      } else if (c === "@") {
        afterAt = true;
        i += 1;
      } else if (/[_A-Za-z]/.test(c)) {
        var start = i;
        while (i < length && /[_0-9A-Za-z]/.test(source.charAt(i))) i += 1;
        if (braces === 0 && parens === 0 && !afterAt) header.push(source.slice(start, i));
        afterAt = false;
      } else {
        i += 1;
      }
    }
    return operations;
  }

  /**
   * The operation a request will run, read from the text being sent: {type, operationName}.
   * The one named operationName, else the only one (GraphiQL may pass a stale name from the
   * editor's previous content: a single operation pasted and run at once); type "" when that
   * cannot be told (several operations and no matching name, or not GraphQL).
   */
  function chooseOperation(text, operationName) {
    var operations = operationsOf(text);
    var named = operations.filter(function (operation) {
      return Boolean(operationName) && operation.name === operationName;
    });
    if (named.length === 1) return { type: named[0].type, operationName: operationName };
    if (operations.length === 1) return { type: operations[0].type, operationName: operations[0].name || undefined };
    return { type: "", operationName: operationName || undefined };
  }

  /** The type of the operation `chooseOperation` picks, or "". */
  function operationTypeOf(text, operationName) {
    return chooseOperation(text, operationName).type;
  }

  if (typeof document === "undefined") {
    if (typeof module === "object" && module.exports) module.exports = { chooseOperation: chooseOperation, operationTypeOf: operationTypeOf };
    return;
  }

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
  var styleNonce = root.getAttribute("data-style-nonce");
  if (styleNonce) window.__webpack_nonce__ = styleNonce;
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
    var chosen = chooseOperation(params.query, params.operationName);
    var sent = Object.assign({}, params, { operationName: chosen.operationName });
    // Unsure (several operations and no name that matches): HTTP, where the server explains.
    if (chosen.type === "subscription") return wsSubscribe(sent, headers);
    return httpFetch(sent, headers);
  }

  var props = {
    fetcher: fetcher,
    defaultQuery: DEFAULT_QUERY,
    defaultEditorToolsVisibility: "headers",
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  };
  // A shared link: the editors start from the URL (headers never travel in links).
  var linked = new URLSearchParams(window.location.search);
  if (linked.get("query") !== null) {
    props.query = linked.get("query");
    if (linked.get("variables") !== null) props.variables = linked.get("variables");
    if (linked.get("operationName")) props.operationName = linked.get("operationName");
  }

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
