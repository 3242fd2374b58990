// Counts per class over time, and visitors per hour, drawn with uPlot on a canvas that follows its container's width.
import { useEffect, useMemo, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { labelName, useI18n } from "./i18n";
import { orderLabels } from "./format";
import type { BriefingFieldsFragment } from "./generated/graphql";

/** Time steps (seconds) the x axis may use: never finer than a second. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

function timeLabels(locale: string): uPlot.Axis.DynamicValues {
  return (_u, splits, _axis, _space, step) => {
    const withSeconds = step < 60;
    const withDate = step >= 86400;
    const formatter = new Intl.DateTimeFormat(locale, {
      hour: "2-digit",
      minute: "2-digit",
      ...(withSeconds ? { second: "2-digit" } : {}),
      ...(withDate ? { month: "numeric", day: "numeric" } : {}),
      hour12: false,
    });
    return splits.map((seconds) => formatter.format(new Date(seconds * 1000)));
  };
}

const COLORS: Record<string, string> = { male: "#2563eb", female: "#db2777", person: "#059669" };
const PALETTE = ["#7c3aed", "#ea580c", "#0891b2", "#65a30d", "#b45309"];

function colour(label: string, index: number): string {
  return COLORS[label] ?? PALETTE[index % PALETTE.length] ?? "#334155";
}

interface Props {
  briefings: readonly BriefingFieldsFragment[];
  title: string;
  testId: string;
  height?: number;
}

export function CountsChart({ briefings, title, testId, height = 220 }: Props) {
  const { t, lang } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  const labels = useMemo(() => orderLabels(briefings.flatMap((b) => b.counts.map((c) => c.label))), [briefings]);
  const data = useMemo<uPlot.AlignedData>(() => {
    const xs = briefings.map((b) => Date.parse(b.capturedAt) / 1000);
    const ys = labels.map((label) =>
      briefings.map((b) => (b.error ? null : (b.counts.find((c) => c.label === label)?.count ?? 0))),
    );
    return [xs, ...ys];
  }, [briefings, labels]);

  const shape = `${lang}|${labels.join(",")}`;

  // (Re)build the chart when its series change; otherwise only its data.
  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const options: uPlot.Options = {
      width: Math.max(240, element.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(2, Math.ceil(max) + 1)] } },
      axes: [
        {
          stroke: "#475569",
          grid: { stroke: "#e2e8f0" },
          incrs: TIME_STEPS,
          space: 70,
          values: timeLabels(lang === "ko" ? "ko-KR" : "en-GB"),
        },
        { stroke: "#475569", grid: { stroke: "#e2e8f0" }, incrs: [1, 2, 5, 10, 20, 50, 100], size: 36 },
      ],
      series: [
        {},
        ...labels.map((label, index) => ({
          label: labelName(t, label),
          stroke: colour(label, index),
          width: index === 0 ? 3 : 2,
          // Later series dashed: where two classes have the same count both lines stay visible.
          ...(index === 0 ? {} : { dash: [7, 4] }),
          points: { show: false },
          paths: uPlot.paths.stepped?.({ align: 1 }),
        })),
      ],
    };
    const chart = new uPlot(options, data, element);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(240, element.clientWidth), height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={box}
        className="chart-canvas"
        role="img"
        aria-label={t("chartLabel", { n: briefings.length })}
        data-testid={testId}
        data-points={briefings.length}
      />
    </figure>
  );
}

/** Local hour starts (seconds) from the first to the last tracked briefing, with the entries in each. */
export function visitorsPerHour(briefings: readonly BriefingFieldsFragment[]): Array<[number, number]> {
  const sums = new Map<number, number>();
  for (const b of briefings) {
    if (!b.tracked) continue;
    const hour = new Date(b.capturedAt);
    hour.setMinutes(0, 0, 0);
    const key = hour.getTime() / 1000;
    sums.set(key, (sums.get(key) ?? 0) + b.entered.reduce((n, c) => n + c.count, 0));
  }
  const keys = [...sums.keys()].sort((a, b) => a - b);
  const first = keys[0];
  const last = keys.at(-1);
  if (first === undefined || last === undefined) return [];
  const rows: Array<[number, number]> = [];
  for (let at = first; at <= last; ) {
    rows.push([at, sums.get(at) ?? 0]);
    const next = new Date(at * 1000);
    next.setHours(next.getHours() + 1); // follows the local clock across a DST change
    at = next.getTime() / 1000;
  }
  return rows;
}

const VISITOR_COLOUR = "#0f766e";

interface VisitorsProps {
  rows: Array<[number, number]>;
  title: string;
  testId: string;
  height?: number;
}

export function VisitorsChart({ rows, title, testId, height = 220 }: VisitorsProps) {
  const { t, lang } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const locale = lang === "ko" ? "ko-KR" : "en-GB";
  const data = useMemo<uPlot.AlignedData>(() => [rows.map((r) => r[0]), rows.map((r) => r[1])], [rows]);
  const hourName = (seconds: number) => t("hourN", { h: new Date(seconds * 1000).getHours() });
  const described = rows.map(([at, n]) => t("hourValue", { hour: hourName(at), n })).join(", ");

  useEffect(() => {
    const element = box.current;
    const hours = rows.map((r) => r[0]);
    const first = hours[0];
    const last = hours.at(-1);
    if (element === null || first === undefined || last === undefined) return;
    const options: uPlot.Options = {
      width: Math.max(240, element.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { show: false },
      scales: {
        // Half an hour either side, so the first and the last bar are whole.
        x: { time: true, auto: false, range: () => [first - 1800, last + 1800] },
        y: { range: (_u, _min, max) => [0, Math.max(2, Math.ceil(max * 1.15))] },
      },
      axes: [
        {
          stroke: "#475569",
          grid: { show: false },
          // A label under every bar while they fit (every 2nd, 3rd… hour when they don't).
          splits: (u) => {
            const every = Math.max(1, Math.ceil((hours.length * 44) / Math.max(1, u.bbox.width / devicePixelRatio)));
            return hours.filter((_, i) => i % every === 0);
          },
          values: (_u, splits) => splits.map((s) => hourName(s)),
        },
        { stroke: "#475569", grid: { stroke: "#e2e8f0" }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500], size: 36 },
      ],
      series: [
        {},
        {
          label: t("chartVisitors"),
          stroke: VISITOR_COLOUR,
          fill: `${VISITOR_COLOUR}cc`,
          width: 1,
          points: { show: false },
          paths: uPlot.paths.bars?.({ size: [0.7, 64], align: 0 }),
        },
      ],
    };
    const chart = new uPlot(options, data, element);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(240, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [data, locale, height]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={box}
        className="chart-canvas"
        role="img"
        aria-label={rows.length ? t("chartVisitorsLabel", { list: described }) : t("chartVisitorsNone")}
        data-testid={testId}
        data-hours={rows.length}
        data-visitors={rows.reduce((n, r) => n + r[1], 0)}
      />
    </figure>
  );
}
