// Errors as the UI shows them: GraphQL errors keep their `extensions.code` and `field`.
import { CombinedGraphQLErrors, ServerError } from "@apollo/client/errors";

import type { Translate } from "./i18n";

export interface UiError {
  code: string;
  message: string;
  field: string | null;
  retryAfter: number | null;
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

export function uiErrors(error: unknown): UiError[] {
  if (CombinedGraphQLErrors.is(error)) {
    return error.errors.map((e) => {
      const extensions = e.extensions ?? {};
      const retry = extensions["retryAfter"];
      return {
        code: text(extensions["code"]) ?? "INTERNAL",
        message: e.message,
        field: text(extensions["field"]),
        retryAfter: typeof retry === "number" ? retry : null,
      };
    });
  }
  if (ServerError.is(error) && error.statusCode === 401) {
    return [{ code: "UNAUTHENTICATED", message: error.message, field: null, retryAfter: null }];
  }
  const message = error instanceof Error ? error.message : String(error);
  return [{ code: "NETWORK", message, field: null, retryAfter: null }];
}

export function firstError(error: unknown): UiError {
  return uiErrors(error)[0] ?? { code: "INTERNAL", message: String(error), field: null, retryAfter: null };
}

export function isUnauthenticated(error: unknown): boolean {
  return uiErrors(error).some((e) => e.code === "UNAUTHENTICATED");
}

/** One line for a person: the server's own words for bad input, a sentence of ours otherwise. */
export function describe(t: Translate, error: UiError): string {
  switch (error.code) {
    case "NETWORK":
      return t("errorNetwork");
    case "RATE_LIMITED":
      return error.retryAfter !== null ? t("errorRateLimited", { s: Math.ceil(error.retryAfter) }) : error.message;
    case "UNAUTHENTICATED":
      return t("errorSession");
    case "BAD_USER_INPUT":
    case "NOT_FOUND":
    case "PASSWORD_NOT_SET":
      return error.message;
    default:
      return t("errorGeneric", { message: error.message });
  }
}
