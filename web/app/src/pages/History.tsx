// The owner's requests, newest first (as `requests` returns them).
import { useQuery } from "@apollo/client/react";

import { describe, firstError } from "../errors";
import { span } from "../format";
import { RequestsDocument } from "../generated/graphql";
import { useI18n } from "../i18n";
import { Link } from "../router";

export function HistoryPage() {
  const { t, lang } = useI18n();
  const { data, loading, error, refetch } = useQuery(RequestsDocument, { fetchPolicy: "cache-and-network" });
  const requests = data?.requests ?? [];

  return (
    <>
      <h1 tabIndex={-1}>{t("historyTitle")}</h1>
      {loading && !data && <p className="muted">{t("loading")}</p>}
      {error && (
        <p className="form-error" role="alert">
          {describe(t, firstError(error))}{" "}
          <button type="button" onClick={() => void refetch()}>
            {t("retry")}
          </button>
        </p>
      )}
      {data && requests.length === 0 && <p className="muted">{t("historyEmpty")}</p>}
      {requests.length > 0 && (
        <ul className="request-list" data-testid="requests">
          {requests.map((request) => (
            <li key={request.id} data-request-id={request.id}>
              <Link to={`/history/${request.id}`} className="request-row">
                <span className="request-title">{request.name}</span>
                <span className={`status status-${request.status}`}>{t(`status_${request.status}`)}</span>
                <span className="request-span">{span(t, lang, request.startsAt, request.endsAt)}</span>
                <span className="request-numbers">
                  <span>
                    {t("colBriefings")} {t("briefingsN", { n: request.briefingCount })}
                  </span>
                  {request.visitors > 0 && <span>{t("visitorsListN", { n: request.visitors })}</span>}
                  {request.skippedTicks > 0 && <span className="warn">{t("skippedN", { n: request.skippedTicks })}</span>}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
