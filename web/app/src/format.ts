// Dates, spans and counts in the browser's zone and the chosen language.
import type { Lang, Translate } from "./i18n";

const LOCALES: Record<Lang, string> = { ko: "ko-KR", en: "en-GB" };

export function time(iso: string, lang: Lang): string {
  return new Date(iso).toLocaleTimeString(LOCALES[lang], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

export function shortTime(iso: string, lang: Lang): string {
  return new Date(iso).toLocaleTimeString(LOCALES[lang], { hour: "2-digit", minute: "2-digit", hour12: false });
}

export function dateTime(iso: string, lang: Lang): string {
  return new Date(iso).toLocaleString(LOCALES[lang], {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
}

export function duration(t: Translate, seconds: number): string {
  const minutes = Math.max(0, Math.round(seconds / 60));
  if (seconds < 60) return t("intervalEvery", { n: Math.max(0, Math.round(seconds)) });
  if (minutes < 60) return t("minutesN", { n: minutes });
  return t("hoursN", { h: Math.floor(minutes / 60), m: minutes % 60 });
}

export function span(t: Translate, lang: Lang, startsAt: string, endsAt: string): string {
  const seconds = (Date.parse(endsAt) - Date.parse(startsAt)) / 1000;
  return `${dateTime(startsAt, lang)} – ${shortTime(endsAt, lang)} (${duration(t, seconds)})`;
}

const LABEL_ORDER = ["male", "female", "person"];

/** Labels in a stable order: male, female, person first, then the rest by name. */
export function orderLabels(labels: Iterable<string>): string[] {
  const unique = [...new Set(labels)];
  const rank = (label: string) => {
    const index = LABEL_ORDER.indexOf(label);
    return index === -1 ? LABEL_ORDER.length : index;
  };
  return unique.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
