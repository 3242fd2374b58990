// One request: counts over time per class, every briefing, the AI summary and a CSV download.
import { useMutation, useQuery } from "@apollo/client/react";
import { useEffect, useMemo, useState } from "react";

import { AlertLine, byLabel, total } from "../alerting";
import { CountsChart, VisitorsChart, visitorsPerHour } from "../Chart";
import { describe, firstError, isUnauthenticated, type UiError } from "../errors";
import { dateTime, duration, orderLabels, span, time } from "../format";
import {
  AiSummaryDocument,
  AlertsDocument,
  BriefingsDocument,
  CamerasDocument,
  RequestsDocument,
  type RequestFieldsFragment,
} from "../generated/graphql";
import { labelName, useI18n } from "../i18n";
import { Link } from "../router";
import { currentToken, signOut } from "../session";

function useElapsedSeconds(running: boolean): number {
  const [seconds, setSeconds] = useState(0);
  useEffect(() => {
    if (!running) return;
    const started = Date.now();
    setSeconds(0);
    const timer = setInterval(() => setSeconds(Math.floor((Date.now() - started) / 1000)), 1000);
    return () => clearInterval(timer);
  }, [running]);
  return seconds;
}

function SummarySection({ requestId }: { requestId: string }) {
  const { t, lang } = useI18n();
  const [write, { data, loading, error }] = useMutation(AiSummaryDocument);
  const elapsed = useElapsedSeconds(loading);
  const summary = data?.aiSummary;

  const ask = (refresh: boolean) => {
    write({ variables: { requestId, refresh } }).catch((e: unknown) => {
      if (isUnauthenticated(e)) signOut();
    });
  };

  return (
    <section className="card" aria-labelledby="summary-title" aria-busy={loading}>
      <div className="section-head">
        <h2 id="summary-title">{t("summaryTitle")}</h2>
        <button type="button" onClick={() => ask(summary !== undefined)} disabled={loading} data-testid="summary-button">
          {summary ? t("summaryRefresh") : t("summaryAsk")}
        </button>
      </div>
      <div role="status" aria-live="polite">
        {loading && (
          <p className="working" data-testid="summary-loading">
            <span className="spinner" aria-hidden="true" /> {t("summaryWorking", { s: elapsed })}
          </p>
        )}
      </div>
      {error && !loading && (
        <p className="form-error" role="alert">
          {describe(t, firstError(error))}
        </p>
      )}
      {summary && !loading && (
        <div data-testid="summary" data-source={summary.source}>
          <p className="summary-text">{summary.text}</p>
          <p className="muted small">
            {t("summaryMeta", {
              source: summary.model ? t("summaryByModel", { model: summary.model }) : t("summaryByTemplate"),
              when: dateTime(summary.createdAt, lang),
            })}
            {summary.cached && ` · ${t("summaryCached")}`}
          </p>
        </div>
      )}
    </section>
  );
}

function VisitorsSection({ request, tracked }: { request: RequestFieldsFragment; tracked: boolean }) {
  const { t, lang } = useI18n();
  const split = byLabel(t, request.visitorsByLabel);
  const dwell = request.meanDwellMinutes;
  return (
    <section className="card visitors" aria-labelledby="visitors-title" data-testid="visitors">
      <h2 id="visitors-title">{t("visitorsTitle")}</h2>
      {!tracked && request.visitors === 0 ? (
        <p className="muted">{t("visitorsUntracked")}</p>
      ) : (
        <dl className="stats">
          <div>
            <dt>{t("visitorsTotal")}</dt>
            <dd data-testid="visitors-total" data-visitors={request.visitors}>
              <strong>{t("visitorsN", { n: request.visitors })}</strong>
              {split && <span className="muted small"> ({split})</span>}
            </dd>
          </div>
          <div>
            <dt>{t("meanStay")}</dt>
            <dd data-testid="mean-stay">
              {dwell === null
                ? t("meanStayUnknown")
                : t("meanStayValue", { n: dwell.toLocaleString(lang === "ko" ? "ko-KR" : "en-GB", { maximumFractionDigits: 1 }) })}
            </dd>
          </div>
        </dl>
      )}
    </section>
  );
}

function AlertsSection({ requestId, cameraName }: { requestId: string; cameraName: string | undefined }) {
  const { t } = useI18n();
  const { data, loading, error } = useQuery(AlertsDocument, {
    variables: { requestId, limit: 200 },
    fetchPolicy: "cache-and-network",
  });
  const alerts = data?.alerts ?? [];
  return (
    <section className="card" aria-labelledby="alerts-title">
      <h2 id="alerts-title">
        {t("alertsTitle")} {data && <span className="muted">{t("alertsN", { n: alerts.length })}</span>}
      </h2>
      {loading && !data && <p className="muted">{t("loading")}</p>}
      {error && (
        <p className="form-error" role="alert">
          {describe(t, firstError(error))}
        </p>
      )}
      {data && alerts.length === 0 && <p className="muted">{t("alertsEmpty")}</p>}
      {alerts.length > 0 && (
        <ol className="alert-list" data-testid="alerts">
          {alerts.map((alert) => (
            <AlertLine key={alert.id} alert={alert} cameraName={cameraName} />
          ))}
        </ol>
      )}
    </section>
  );
}

function filenameOf(disposition: string | null, fallback: string): string {
  const match = disposition ? /filename="?([^";]+)"?/.exec(disposition) : null;
  return match?.[1] ?? fallback;
}

function CsvButton({ requestId }: { requestId: string }) {
  const { t } = useI18n();
  const [state, setState] = useState<{ busy: boolean; done: string | null; error: UiError | null }>({
    busy: false,
    done: null,
    error: null,
  });

  const download = async () => {
    setState({ busy: true, done: null, error: null });
    try {
      const token = currentToken();
      const response = await fetch(`/export/requests/${encodeURIComponent(requestId)}.csv`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      if (response.status === 401) {
        signOut();
        return;
      }
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
        throw Object.assign(new Error(body.message ?? response.statusText), { code: body.code });
      }
      const name = filenameOf(response.headers.get("content-disposition"), `briefing-${requestId}.csv`);
      const url = URL.createObjectURL(await response.blob());
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.download = name;
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setState({ busy: false, done: name, error: null });
    } catch (error) {
      const code = (error as { code?: string }).code;
      const message = error instanceof Error ? error.message : String(error);
      setState({
        busy: false,
        done: null,
        error: { code: code ?? "NETWORK", message, field: null, retryAfter: null },
      });
    }
  };

  return (
    <div className="csv">
      <button type="button" onClick={() => void download()} disabled={state.busy} data-testid="csv-button">
        {state.busy ? t("downloading") : t("downloadCsv")}
      </button>
      <span role="status" className="muted small">
        {state.done && t("downloaded", { name: state.done })}
      </span>
      {state.error && (
        <p className="form-error" role="alert">
          {describe(t, state.error)}
        </p>
      )}
    </div>
  );
}

export function RequestPage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const requests = useQuery(RequestsDocument, { fetchPolicy: "cache-and-network" });
  const briefings = useQuery(BriefingsDocument, { variables: { requestId: id }, fetchPolicy: "cache-and-network" });
  const cameras = useQuery(CamerasDocument);
  const request = requests.data?.requests.find((r) => r.id === id);
  const rows = useMemo(() => briefings.data?.briefings ?? [], [briefings.data]);
  const hourly = useMemo(() => visitorsPerHour(rows), [rows]);
  const anyTracked = hourly.length > 0;
  const cameraName = request ? (cameras.data?.cameras.find((c) => c.id === request.cameraId)?.name ?? request.cameraId) : undefined;
  const labels = orderLabels(rows.flatMap((b) => b.counts.map((c) => c.label)));
  const problem = briefings.error ?? requests.error;
  const first = rows[0];
  const last = rows.at(-1);

  useEffect(() => {
    if (problem && isUnauthenticated(problem)) signOut();
  }, [problem]);

  if (requests.data && !request) {
    return (
      <>
        <p>
          <Link to="/history">{t("backToHistory")}</Link>
        </p>
        <h1 tabIndex={-1}>{t("requestNotFound")}</h1>
      </>
    );
  }

  return (
    <>
      <p>
        <Link to="/history">{t("backToHistory")}</Link>
      </p>
      <h1 tabIndex={-1}>{request?.name ?? t("loading")}</h1>
      {request && (
        <p className="muted">
          <span className={`status status-${request.status}`}>{t(`status_${request.status}`)}</span>{" "}
          {span(t, lang, request.startsAt, request.endsAt)} · {duration(t, request.interval)} ·{" "}
          {t("colBriefings")} {t("briefingsN", { n: request.briefingCount })}
          {request.skippedTicks > 0 && ` · ${t("skippedN", { n: request.skippedTicks })}`}
          {request.endReason && ` · ${t(`reason_${request.endReason}`)}`}
        </p>
      )}
      {first && last && (
        <p className="muted small">
          {t("recorded", { from: time(first.capturedAt, lang), to: time(last.capturedAt, lang) })}
        </p>
      )}
      {problem && (
        <p className="form-error" role="alert">
          {describe(t, firstError(problem))}
        </p>
      )}
      <div className="actions">
        <CsvButton requestId={id} />
      </div>
      {request && <VisitorsSection request={request} tracked={hourly.length > 0} />}
      {rows.length > 0 && (
        <div className={hourly.length > 0 ? "charts charts-two" : "charts"}>
          <CountsChart briefings={rows} title={t("chartHistory")} testId="history-chart" />
          {hourly.length > 0 && <VisitorsChart rows={hourly} title={t("chartVisitors")} testId="visitors-chart" />}
        </div>
      )}
      <AlertsSection requestId={id} cameraName={cameraName} />
      <SummarySection requestId={id} />
      <section aria-labelledby="table-title">
        <h2 id="table-title">
          {t("tableTitle")} <span className="muted">{t("briefingsN", { n: rows.length })}</span>
        </h2>
        {briefings.loading && !briefings.data && <p className="muted">{t("loading")}</p>}
        <div className="table-wrap" tabIndex={0} aria-labelledby="table-title">
          <table className="briefings" data-testid="briefings-table">
            <thead>
              <tr>
                <th scope="col">{t("colSeq")}</th>
                <th scope="col">{t("colTime")}</th>
                {labels.map((label) => (
                  <th scope="col" key={label} className="num">
                    {labelName(t, label)}
                  </th>
                ))}
                {anyTracked && (
                  <>
                    <th scope="col" className="num">
                      {t("colIn")}
                    </th>
                    <th scope="col" className="num">
                      {t("colOut")}
                    </th>
                  </>
                )}
                <th scope="col">{t("colCaption")}</th>
                <th scope="col">{t("colSource")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((b) => (
                <tr key={b.seq} data-seq={b.seq}>
                  <td className="num">{b.seq}</td>
                  <td>
                    <time dateTime={b.capturedAt}>{time(b.capturedAt, lang)}</time>
                  </td>
                  {labels.map((label) => (
                    <td key={label} className="num">
                      {b.error ? "" : (b.counts.find((c) => c.label === label)?.count ?? 0)}
                    </td>
                  ))}
                  {anyTracked && (
                    <>
                      <td className="num">{b.tracked ? total(b.entered) : ""}</td>
                      <td className="num">{b.tracked ? total(b.exited) : ""}</td>
                    </>
                  )}
                  <td className="caption-cell">{b.error ? t("captionFailed", { error: b.error }) : b.caption}</td>
                  <td>{t(`source_${b.captionSource}`)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
