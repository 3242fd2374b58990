// Alert rules (list, add with the fields the kind needs, switch on and off, delete) and the webhook
// (set, replace, remove; its signing secret is shown once). The server's BAD_USER_INPUT message is
// shown next to the field its `extensions.field` names, as the instructions editor does.
import { useMutation, useQuery } from "@apollo/client/react";
import { useEffect, useRef, useState, type FormEvent } from "react";

import { ALERT_KINDS, ruleText } from "../alerting";
import { describe, firstError, isUnauthenticated, type UiError } from "../errors";
import { Field } from "../Field";
import { dateTime, orderLabels } from "../format";
import {
  AlertRulesDocument,
  CamerasDocument,
  DeleteAlertRuleDocument,
  SetAlertRuleDocument,
  SetWebhookDocument,
  WebhookDocument,
  type AlertKind,
  type AlertRuleFieldsFragment,
  type AlertRuleInput,
} from "../generated/graphql";
import { labelName, useI18n, type MessageKey, type Translate } from "../i18n";
import { signOut } from "../session";

const MAX_RULES = 20;
const RULE_FIELDS = ["kind", "cameraId", "threshold", "seconds", "zoneId", "label"];
const LABELS = orderLabels(["male", "female", "person"]);

/** The input that changes nothing but what is given (setAlertRule replaces the whole rule). */
function inputOf(rule: AlertRuleFieldsFragment, patch: Partial<AlertRuleInput> = {}): AlertRuleInput {
  return {
    id: rule.id,
    kind: rule.kind,
    seconds: rule.seconds,
    cameraId: rule.cameraId,
    threshold: rule.threshold,
    zoneId: rule.zoneId,
    label: rule.label,
    enabled: rule.enabled,
    ...patch,
  };
}

function localError(message: string, field: string): UiError {
  return { code: "LOCAL", message, field, retryAfter: null };
}

function shown(t: Translate, error: UiError): string {
  return error.code === "LOCAL" ? error.message : describe(t, error);
}

function RuleForm({ count, cameraIds, cameraName }: { count: number; cameraIds: string[]; cameraName: (id: string) => string }) {
  const { t } = useI18n();
  const [save, { loading }] = useMutation(SetAlertRuleDocument, { refetchQueries: [AlertRulesDocument], awaitRefetchQueries: true });
  const [kind, setKind] = useState<AlertKind>("OCCUPANCY");
  const [cameraId, setCameraId] = useState("");
  const [threshold, setThreshold] = useState("5");
  const [amount, setAmount] = useState("60");
  const [unit, setUnit] = useState<"s" | "min">("s");
  const [zoneId, setZoneId] = useState("counter");
  const [label, setLabel] = useState("");
  const [error, setError] = useState<UiError | null>(null);
  const [added, setAdded] = useState(false);

  const needsThreshold = kind === "OCCUPANCY" || kind === "ENTRIES";
  // A zone belongs to a camera: a zone rule has no "every camera" choice and starts on the first
  // camera, even when the cameras arrive after the kind was picked.
  const zoneKind = kind === "ZONE_EMPTY";
  const camera = zoneKind && cameraId === "" ? (cameraIds[0] ?? "") : cameraId;
  const fieldError = (field: string) => (error && error.field === field ? shown(t, error) : null);
  const general = error && !RULE_FIELDS.includes(error.field ?? "") ? shown(t, error) : null;
  const full = count >= MAX_RULES;

  const pickKind = (next: AlertKind) => {
    setKind(next);
    setError(null);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setAdded(false);
    const whole = /^\s*-?\d+\s*$/;
    if (needsThreshold && threshold.trim() !== "" && !whole.test(threshold)) {
      return setError(localError(t("wholeNumber"), "threshold"));
    }
    if (!whole.test(amount)) return setError(localError(t("wholeNumber"), "seconds"));
    const input: AlertRuleInput = {
      kind,
      seconds: Number(amount) * (unit === "min" ? 60 : 1),
      cameraId: camera || null,
      threshold: needsThreshold && threshold.trim() !== "" ? Number(threshold) : null,
      zoneId: zoneKind ? zoneId.trim() || null : null,
      label: kind === "OCCUPANCY" && label ? label : null,
      enabled: true,
    };
    setError(null);
    try {
      await save({ variables: { input } });
      setAdded(true);
    } catch (e) {
      if (isUnauthenticated(e)) return signOut();
      setError(firstError(e));
    }
  };

  return (
    <form className="rule-form" onSubmit={(e) => void submit(e)} aria-labelledby="rule-new-title" noValidate data-testid="rule-form">
      <h3 id="rule-new-title">{t("ruleNew")}</h3>
      <Field label={t("kind")} error={fieldError("kind")}>
        {(props) => (
          <select {...props} name="kind" value={kind} onChange={(e) => pickKind(e.target.value as AlertKind)}>
            {ALERT_KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`kind_${k}` as MessageKey)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t("camera")} error={fieldError("cameraId")}>
        {(props) => (
          <select {...props} name="ruleCamera" value={camera} onChange={(e) => setCameraId(e.target.value)}>
            {!zoneKind && <option value="">{t("allCameras")}</option>}
            {cameraIds.map((id) => (
              <option key={id} value={id}>
                {cameraName(id)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {needsThreshold && (
        <Field label={t(kind === "ENTRIES" ? "thresholdEntries" : "thresholdPeople")} error={fieldError("threshold")}>
          {(props) => (
            <input
              {...props}
              name="threshold"
              type="number"
              inputMode="numeric"
              min={1}
              step={1}
              value={threshold}
              onChange={(e) => setThreshold(e.target.value)}
            />
          )}
        </Field>
      )}
      {zoneKind && (
        <Field label={t("zone")} hint={t("zoneHint")} error={fieldError("zoneId")}>
          {(props) => <input {...props} name="zoneId" value={zoneId} maxLength={64} onChange={(e) => setZoneId(e.target.value)} />}
        </Field>
      )}
      {kind === "OCCUPANCY" && (
        <Field label={t("whoLabel")} error={fieldError("label")}>
          {(props) => (
            <select {...props} name="label" value={label} onChange={(e) => setLabel(e.target.value)}>
              <option value="">{t("labelAll")}</option>
              {LABELS.map((l) => (
                <option key={l} value={l}>
                  {labelName(t, l)}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      <Field
        label={t(kind === "ENTRIES" ? "within" : "holdFor")}
        error={fieldError("seconds")}
        extra={
          <select
            name="secondsUnit"
            aria-label={t("timeUnit")}
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
            name="seconds"
            type="number"
            inputMode="numeric"
            min={1}
            step={1}
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
          />
        )}
      </Field>
      {general && (
        <p className="form-error" role="alert" data-testid="rule-error">
          {general}
        </p>
      )}
      <div className="save-row">
        <button type="submit" className="primary" disabled={loading || full}>
          {loading ? t("addingRule") : t("addRule")}
        </button>
        <span role="status" className="muted">
          {full ? t("maxReached", { max: MAX_RULES }) : added ? t("ruleAdded") : ""}
        </span>
      </div>
    </form>
  );
}

function RuleRow({ rule, text, onDeleted }: { rule: AlertRuleFieldsFragment; text: string; onDeleted: () => void }) {
  const { t } = useI18n();
  const [save, { loading: saving }] = useMutation(SetAlertRuleDocument);
  const [remove, { loading: removing }] = useMutation(DeleteAlertRuleDocument, {
    refetchQueries: [AlertRulesDocument],
    awaitRefetchQueries: true,
  });
  const [error, setError] = useState<UiError | null>(null);
  const errorId = `rule-error-${rule.id}`;

  const run = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
    } catch (e) {
      if (isUnauthenticated(e)) return signOut();
      setError(firstError(e));
    }
  };

  return (
    <li className={rule.enabled ? "rule" : "rule rule-off"} data-rule-id={rule.id} data-kind={rule.kind} data-enabled={rule.enabled}>
      <span className="rule-text">
        {text}
        {!rule.enabled && <span className="badge badge-off">{t("ruleOff")}</span>}
      </span>
      <span className="rule-buttons">
        <label className="toggle">
          <input
            type="checkbox"
            checked={rule.enabled}
            disabled={saving}
            aria-label={t("ruleToggle", { rule: text })}
            {...(error ? { "aria-describedby": errorId } : {})}
            onChange={(e) => void run(() => save({ variables: { input: inputOf(rule, { enabled: e.target.checked }) } }))}
          />
          <span aria-hidden="true">{t("ruleEnabled")}</span>
        </label>
        <button
          type="button"
          className="danger-text"
          disabled={removing}
          aria-label={t("ruleDeleteLabel", { rule: text })}
          onClick={() =>
            void run(async () => {
              await remove({ variables: { id: rule.id } });
              onDeleted();
            })
          }
        >
          {t("ruleDelete")}
        </button>
      </span>
      {error && (
        <p className="field-error" id={errorId} role="alert">
          {describe(t, error)}
        </p>
      )}
    </li>
  );
}

export function AlertRulesSection() {
  const { t } = useI18n();
  const rules = useQuery(AlertRulesDocument, { fetchPolicy: "cache-and-network" });
  const cameras = useQuery(CamerasDocument);
  const [deleted, setDeleted] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const list = rules.data?.alertRules ?? [];
  const cameraList = cameras.data?.cameras ?? [];
  const cameraName = (id: string) => cameraList.find((c) => c.id === id)?.name ?? id;

  useEffect(() => {
    if (rules.error && isUnauthenticated(rules.error)) signOut();
  }, [rules.error]);

  return (
    <section className="card" aria-labelledby="rules-title">
      <h2 id="rules-title" tabIndex={-1} ref={heading}>
        {t("rulesTitle")}
      </h2>
      <p className="lead">{t("rulesLead", { max: MAX_RULES })}</p>
      {rules.loading && !rules.data && <p className="muted">{t("loading")}</p>}
      {rules.error && !isUnauthenticated(rules.error) && (
        <p className="form-error" role="alert">
          {describe(t, firstError(rules.error))}
        </p>
      )}
      {rules.data && list.length === 0 && <p className="muted">{t("rulesEmpty")}</p>}
      <ul className="rules" data-testid="rules">
        {list.map((rule) => (
          <RuleRow
            key={rule.id}
            rule={rule}
            text={ruleText(t, rule, cameraName)}
            onDeleted={() => {
              setDeleted(true);
              heading.current?.focus();
            }}
          />
        ))}
      </ul>
      <span role="status" className="visually-hidden">
        {deleted ? t("ruleDeleted") : ""}
      </span>
      <RuleForm count={list.length} cameraIds={cameraList.map((c) => c.id)} cameraName={cameraName} />
    </section>
  );
}

export function WebhookSection() {
  const { t, lang } = useI18n();
  const webhook = useQuery(WebhookDocument, { fetchPolicy: "network-only" });
  const [setWebhook, { loading }] = useMutation(SetWebhookDocument, { refetchQueries: [WebhookDocument], awaitRefetchQueries: true });
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [done, setDone] = useState<"saved" | "removed" | null>(null);
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  const secretBox = useRef<HTMLInputElement>(null);
  const current = webhook.data?.webhook ?? null;

  const change = async (next: string | null) => {
    setError(null);
    setDone(null);
    setCopied(null);
    try {
      const { data } = await setWebhook({ variables: { url: next } });
      setSecret(data?.setWebhook.secret ?? null);
      setDone(next === null ? "removed" : "saved");
      if (next !== null) setUrl("");
    } catch (e) {
      if (isUnauthenticated(e)) return signOut();
      setError(firstError(e));
    }
  };

  useEffect(() => {
    if (secret !== null) secretBox.current?.focus();
  }, [secret]);

  const copy = async () => {
    secretBox.current?.select();
    try {
      await navigator.clipboard.writeText(secret ?? "");
      setCopied("yes");
    } catch {
      setCopied("no"); // selected: Ctrl+C works
    }
  };

  const urlError = error && (error.field === "url" || error.field === null) ? describe(t, error) : null;
  return (
    <section className="card" aria-labelledby="webhook-title" data-testid="webhook">
      <h2 id="webhook-title">{t("webhookTitle")}</h2>
      <p className="lead">{t("webhookLead")}</p>
      {webhook.data && (
        <p data-testid="webhook-current">
          {current ? t("webhookCurrent", { url: current.url, when: dateTime(current.createdAt, lang) }) : t("webhookNone")}
        </p>
      )}
      {secret !== null && (
        <div className="secret" data-testid="webhook-secret-box">
          <label htmlFor="webhook-secret">{t("secretTitle")}</label>
          <div className="field-control">
            <input
              id="webhook-secret"
              ref={secretBox}
              readOnly
              value={secret}
              data-testid="webhook-secret"
              aria-describedby="webhook-secret-hint"
              onFocus={(e) => e.target.select()}
              spellCheck={false}
            />
            <button type="button" onClick={() => void copy()}>
              {t("copy")}
            </button>
          </div>
          <p className="hint" id="webhook-secret-hint">
            {t("secretHint")}
          </p>
          <p role="status" className="muted small">
            {copied === "yes" ? t("copied") : copied === "no" ? t("copyFailed") : ""}
          </p>
        </div>
      )}
      <form
        className="webhook-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void change(url);
        }}
      >
        <Field label={t("webhookUrl")} hint={t("webhookUrlHint")} error={urlError}>
          {(props) => (
            <input
              {...props}
              name="webhookUrl"
              type="url"
              inputMode="url"
              autoComplete="off"
              placeholder="https://"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
            />
          )}
        </Field>
        <div className="save-row">
          <button type="submit" className="primary" disabled={loading || url.trim() === ""}>
            {current ? t("webhookReplace") : t("webhookSet")}
          </button>
          {current && (
            <button type="button" className="danger" disabled={loading} onClick={() => void change(null)}>
              {t("webhookRemove")}
            </button>
          )}
          <span role="status" className="muted">
            {done === "saved" ? t("webhookSaved") : done === "removed" ? t("webhookRemoved") : ""}
          </span>
        </div>
      </form>
    </section>
  );
}
