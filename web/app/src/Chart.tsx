// Counts per class over time, drawn with uPlot on a canvas that follows its container's width.
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
