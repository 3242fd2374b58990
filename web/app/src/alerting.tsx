// Alerts and alert rules in words of the chosen language (the server's own `message` is Korean only),
// and the alert line the live feed and the request page share.
import { orderLabels, time } from "./format";
import type { AlertFieldsFragment, AlertKind, AlertRuleFieldsFragment } from "./generated/graphql";
import { labelName, useI18n, zoneName, type MessageKey, type Translate } from "./i18n";

interface ClassCount {
  label: string;
  count: number;
}

export const ALERT_KINDS: readonly AlertKind[] = ["OCCUPANCY", "ZONE_EMPTY", "ENTRIES", "CAMERA_UNREADABLE"];

/** `90` → "1분 30초" / "1 min 30 s": an exact duration. */
export function spanText(t: Translate, seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  const parts: string[] = [];
  if (h) parts.push(t("durH", { n: h }));
  if (m) parts.push(t("durM", { n: m }));
  if (s || parts.length === 0) parts.push(t("durS", { n: s }));
  return parts.join(" ");
}

function who(t: Translate, label: string | null): string {
  return label === null ? t("whoEveryone") : labelName(t, label);
}

/** What an alert says, from its fields. */
export function alertText(t: Translate, alert: AlertFieldsFragment): string {
  return t(`alertText_${alert.kind}` as MessageKey, {
    who: who(t, alert.label),
    observed: alert.observed ?? "?",
    threshold: alert.threshold ?? "?",
    span: spanText(t, alert.seconds),
    zone: alert.zoneId ? zoneName(t, alert.zoneId) : "?",
  });
}

/** What a rule watches for, e.g. "demo: 인원 1명 이상이 2초 동안 계속되면". */
export function ruleText(t: Translate, rule: AlertRuleFieldsFragment, cameraName: (id: string) => string): string {
  const text = t(`ruleDesc_${rule.kind}` as MessageKey, {
    who: who(t, rule.label),
    threshold: rule.threshold ?? "?",
    span: spanText(t, rule.seconds),
    zone: rule.zoneId ? zoneName(t, rule.zoneId) : "?",
  });
  return t("ruleOnCamera", { camera: rule.cameraId ? cameraName(rule.cameraId) : t("allCameras"), text });
}

export function total(counts: readonly { count: number }[]): number {
  return counts.reduce((sum, c) => sum + c.count, 0);
}

/** People per zone (all labels together), zones in a stable order. */
export function perZone(zones: readonly { zone: string; count: number }[]): Array<[string, number]> {
  const sums = new Map<string, number>();
  for (const z of zones) sums.set(z.zone, (sums.get(z.zone) ?? 0) + z.count);
  return [...sums.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** "남성 2 · 여성 1" for per-label counts with any people. */
export function byLabel(t: Translate, counts: readonly ClassCount[]): string {
  return orderLabels(counts.filter((c) => c.count > 0).map((c) => c.label))
    .map((label) => `${labelName(t, label)} ${counts.filter((c) => c.label === label).reduce((n, c) => n + c.count, 0)}`)
    .join(" · ");
}

interface AlertLineProps {
  alert: AlertFieldsFragment;
  cameraName?: string | undefined;
  as?: "li" | "div";
}

/** One alert: a badge, the time it fired, what happened. */
export function AlertLine({ alert, cameraName, as = "li" }: AlertLineProps) {
  const { t, lang } = useI18n();
  const Tag = as;
  return (
    <Tag className="alert-item" data-alert-id={alert.id} data-kind={alert.kind}>
      <div className="feed-meta">
        <span className="badge badge-alert">{t("alertBadge")}</span>
        <span className="alert-camera">{cameraName ?? alert.cameraId}</span>
        <time dateTime={alert.firedAt}>{time(alert.firedAt, lang)}</time>
      </div>
      <p className="alert-text">{alertText(t, alert)}</p>
    </Tag>
  );
}
