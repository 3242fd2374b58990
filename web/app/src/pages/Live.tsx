// Live briefing: pick a camera, an interval and an end time, start; watch captions and counts
// arrive; end it. A reload or a dropped network resumes the feed (see live.ts) and says so.
import { useQuery } from "@apollo/client/react";
import { useEffect, useMemo, useState, useSyncExternalStore, type FormEvent } from "react";

import { AlertLine, alertText, perZone, total } from "../alerting";
import { CountsChart } from "../Chart";
import { describe } from "../errors";
import { Field } from "../Field";
import { duration, orderLabels, shortTime, time } from "../format";
import { CamerasDocument, type BriefingFieldsFragment } from "../generated/graphql";
import { labelName, useI18n, zoneName, type Translate } from "../i18n";
import type { LiveBriefing, LiveState } from "../live";
import { Link } from "../router";

const FEED_SHOWN = 100;

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

function defaultEndTime(): string {
  const later = new Date(Date.now() + 60 * 60 * 1000);
  return `${pad(later.getHours())}:${pad(later.getMinutes())}`;
}

/** The next moment the clock shows `hhmm` (today, or tomorrow when that has passed). */
export function nextMoment(hhmm: string, now = new Date()): Date | null {
  const match = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!match) return null;
  const moment = new Date(now);
  moment.setHours(Number(match[1]), Number(match[2]), 0, 0);
  if (moment <= now) moment.setDate(moment.getDate() + 1);
  return moment;
}

function StartForm({ live, state }: { live: LiveBriefing; state: LiveState }) {
  const { t, lang } = useI18n();
  const cameras = useQuery(CamerasDocument);
  const [cameraId, setCameraId] = useState("");
  const [amount, setAmount] = useState("10");
  const [unit, setUnit] = useState<"s" | "min">("s");
  const [endTime, setEndTime] = useState(defaultEndTime);
  const [now, setNow] = useState(() => new Date());

  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 30_000);
    return () => clearInterval(timer);
  }, []);

  const list = cameras.data?.cameras ?? [];
  const chosen = cameraId || list[0]?.id || "";
  const moment = nextMoment(endTime, now);
  const tomorrow = moment !== null && moment.getDate() !== now.getDate();
  const error = state.error;
  const fieldError = (field: string) => (error && error.field === field ? describe(t, error) : null);
  const general = error && !["interval", "endtime", "cameraId"].includes(error.field ?? "") ? describe(t, error) : null;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const seconds = Math.round(Number(amount) * (unit === "min" ? 60 : 1));
    live.start({
      cameraId: chosen,
      interval: Number.isFinite(seconds) ? seconds : 0,
      // An instant with its offset: the end is the moment the owner picked, whatever the server's zone.
      endtime: moment ? moment.toISOString() : endTime,
    });
  };

  const starting = state.phase === "starting";
  return (
    <form className="card start-form" onSubmit={submit} aria-label={t("liveTitle")} noValidate>
      <Field label={t("camera")} error={fieldError("cameraId")}>
        {(props) => (
          <select {...props} name="camera" value={chosen} onChange={(e) => setCameraId(e.target.value)}>
            {list.map((camera) => (
              <option key={camera.id} value={camera.id}>
                {camera.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      {cameras.data && list.length === 0 && <p className="form-error">{t("noCameras")}</p>}
      <Field
        label={t("interval")}
        error={fieldError("interval")}
        extra={
          <select
            name="unit"
            aria-label={t("intervalUnit")}
            value={unit}
            onChange={(e) => setUnit(e.target.value === "min" ? "min" : "s")}
          >
            <option value="s">{t("unitSeconds")}</option>
            <option value="min">{t("unitMinutes")}</option>
          </select>
        }
      >
        {(props) => (
          <input
            {...props}
            name="interval"
            type="number"
            inputMode="numeric"
            min={1}
            step={1}
            required
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
          />
        )}
      </Field>
      <Field
        label={t("endTime")}
        hint={
          moment
            ? t("endTimeHint", {
                when: t(tomorrow ? "endTimeTomorrow" : "endTimeToday", { time: shortTime(moment.toISOString(), lang) }),
              })
            : undefined
        }
        error={fieldError("endtime")}
      >
        {(props) => (
          <input {...props} name="endtime" type="time" required value={endTime} onChange={(e) => setEndTime(e.target.value)} />
        )}
      </Field>
      {general && (
        <p className="form-error" role="alert">
          {general}
        </p>
      )}
      <button type="submit" className="primary" disabled={starting || !chosen}>
        {starting ? t("starting") : t("start")}
      </button>
    </form>
  );
}

function Counts({ briefing, t }: { briefing: BriefingFieldsFragment; t: Translate }) {
  const labels = orderLabels(briefing.counts.map((c) => c.label));
  const total = briefing.counts.reduce((sum, c) => sum + c.count, 0);
  return (
    <ul className="counts">
      {labels.map((label) => (
        <li key={label} className={`count count-${label}`} data-label={label}>
          {labelName(t, label)} <strong>{briefing.counts.find((c) => c.label === label)?.count ?? 0}</strong>
        </li>
      ))}
      {labels.length > 1 && (
        <li className="count count-total">
          {t("total")} <strong>{total}</strong>
        </li>
      )}
    </ul>
  );
}

/** Entries and exits since the previous briefing, and who is in each zone (tracked briefings only). */
function Movement({ briefing, t }: { briefing: BriefingFieldsFragment; t: Translate }) {
  const zones = perZone(briefing.zones);
  return (
    <div className="movement" data-testid="movement">
      <span className="movement-doors" data-entered={total(briefing.entered)} data-exited={total(briefing.exited)}>
        <span className="in">{t("movementIn", { n: total(briefing.entered) })}</span>
        {" · "}
        <span className="out">{t("movementOut", { n: total(briefing.exited) })}</span>
      </span>
      {zones.length > 0 && (
        <ul className="zones" aria-label={t("zonesLabel")}>
          {zones.map(([zone, n]) => (
            <li key={zone} className="zone" data-zone={zone} data-count={n}>
              {t("zoneCount", { zone: zoneName(t, zone), n })}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function FeedItem({ briefing }: { briefing: BriefingFieldsFragment }) {
  const { t, lang } = useI18n();
  return (
    <li className="feed-item" data-seq={briefing.seq}>
      <div className="feed-meta">
        <span className="seq">#{briefing.seq}</span>
        <time dateTime={briefing.capturedAt}>{time(briefing.capturedAt, lang)}</time>
        <span className={`badge source-${briefing.captionSource}`}>{t(`source_${briefing.captionSource}`)}</span>
      </div>
      {briefing.error ? (
        <p className="caption caption-failed">{t("captionFailed", { error: briefing.error })}</p>
      ) : (
        <p className="caption">{briefing.caption}</p>
      )}
      {!briefing.error && <Counts briefing={briefing} t={t} />}
      {!briefing.error && briefing.tracked && <Movement briefing={briefing} t={t} />}
    </li>
  );
}

function LinkStatus({ state }: { state: LiveState }) {
  const { t } = useI18n();
  const text = {
    live: t("linkLive"),
    connecting: t("linkConnecting"),
    reconnecting: t("linkReconnecting"),
    offline: t("linkOffline"),
  }[state.link];
  const { resumed } = state;
  const showResumed = resumed !== null && state.link === "live" && (resumed.cause === "network" || resumed.after > 0);
  return (
    <div className="status-row" role="status" aria-live="polite">
      <span className={`link-pill link-${state.link}`} data-link={state.link}>
        {text}
      </span>
      {showResumed && (
        <span className="resumed" data-resumed-after={resumed.after} data-resumed-cause={resumed.cause}>
          {t(resumed.cause === "reload" ? "resumedReload" : "resumedNetwork", { after: resumed.after })}
          {resumed.dropped > 0 && ` ${t("resumedDropped", { n: resumed.dropped })}`}
        </span>
      )}
    </div>
  );
}

export function LivePage({ live }: { live: LiveBriefing }) {
  const { t, lang } = useI18n();
  const state = useSyncExternalStore(live.subscribe, live.getState);
  const cameras = useQuery(CamerasDocument);
  const { request, items, phase, alerts, latestAlert } = state;
  // Briefings and alerts in one feed, newest first: briefings by seq, each alert above the first
  // briefing captured no later than it fired.
  const shown = useMemo(() => {
    const recent = items.slice(-FEED_SHOWN).reverse();
    const oldest = recent.at(-1);
    const since = oldest && items.length > FEED_SHOWN ? Date.parse(oldest.capturedAt) : -Infinity;
    const pending = alerts.filter((a) => Date.parse(a.firedAt) >= since).reverse();
    const entries: Array<{ briefing?: BriefingFieldsFragment; alert?: (typeof alerts)[number] }> = [];
    let next = 0;
    for (const briefing of recent) {
      const at = Date.parse(briefing.capturedAt);
      for (; next < pending.length && Date.parse(pending[next]?.firedAt ?? "") >= at; next++) {
        entries.push({ alert: pending[next] });
      }
      entries.push({ briefing });
    }
    for (; next < pending.length; next++) entries.push({ alert: pending[next] });
    return entries;
  }, [items, alerts]);
  const cameraName = cameras.data?.cameras.find((c) => c.id === request?.cameraId)?.name ?? request?.cameraId ?? "";

  return (
    <>
      <h1 tabIndex={-1}>{t("liveTitle")}</h1>
      {phase === "loading" && <p className="muted">{t("loading")}</p>}
      {(phase === "idle" || phase === "starting") && <StartForm live={live} state={state} />}
      {phase === "ended" && request && (
        <div className="card banner" role="status">
          <p>
            {t("endedBanner", { reason: state.endReason ? t(`reason_${state.endReason}`) : "" })}{" "}
            <Link to={`/history/${request.id}`}>{t("viewInHistory")}</Link>
          </p>
          <button type="button" onClick={() => live.reset()}>
            {t("newBriefing")}
          </button>
        </div>
      )}
      {(phase === "running" || phase === "ended") && request && (
        <>
          <section className="card live-head" aria-label={request.name}>
            <div>
              <h2 className="request-name">{request.name}</h2>
              <p className="muted">
                {t("runningInfo", {
                  camera: cameraName,
                  interval: duration(t, request.interval),
                  end: shortTime(request.endsAt, lang),
                })}
              </p>
              {phase === "running" && <LinkStatus state={state} />}
              {state.error && phase === "running" && (
                <p className="form-error" role="alert">
                  {describe(t, state.error)}
                </p>
              )}
            </div>
            {phase === "running" && (
              <button type="button" className="danger" onClick={() => void live.end()} disabled={state.ending}>
                {state.ending ? t("ending") : t("end")}
              </button>
            )}
          </section>
          {latestAlert && (
            <div className="alert-banner" role="alert" data-testid="alert-banner" data-alert-id={latestAlert.id}>
              <p>
                <strong>{t("alertBadge")}</strong> {alertText(t, latestAlert)}
              </p>
              <button
                type="button"
                className="icon"
                onClick={() => live.dismissAlert()}
                aria-label={t("alertDismiss")}
                title={t("alertDismiss")}
              >
                ✕
              </button>
            </div>
          )}
          <CountsChart briefings={items} title={t("chartLive")} testId="live-chart" height={200} />
          <section aria-labelledby="feed-title">
            <h2 id="feed-title">
              {t("feedTitle")} <span className="muted">{t("feedCount", { n: items.length })}</span>
            </h2>
            {items.length === 0 && phase === "running" && <p className="muted">{t("feedEmpty")}</p>}
            <ol className="feed" role="log" aria-labelledby="feed-title" data-testid="feed">
              {shown.map((entry) =>
                entry.briefing ? (
                  <FeedItem key={entry.briefing.seq} briefing={entry.briefing} />
                ) : entry.alert ? (
                  <AlertLine key={entry.alert.id} alert={entry.alert} cameraName={cameraName} />
                ) : null,
              )}
            </ol>
          </section>
        </>
      )}
    </>
  );
}
