import { ApolloProvider } from "@apollo/client/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { createApi } from "./apollo";
import { App } from "./App";
import { I18nProvider } from "./i18n";
import "./styles.css";

const api = createApi();
const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root");

createRoot(root).render(
  <StrictMode>
    <ApolloProvider client={api.client}>
      <I18nProvider>
        <App api={api} />
      </I18nProvider>
    </ApolloProvider>
  </StrictMode>,
);
