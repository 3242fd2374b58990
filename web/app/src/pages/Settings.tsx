// Caption instructions: add, remove, reorder (at most 20), saved with updateCustom. The server's
// BAD_USER_INPUT message is shown next to the instruction it names ("Instruction 3 is empty").
import { useMutation, useQuery } from "@apollo/client/react";
import { useEffect, useRef, useState, type FormEvent } from "react";

import { describe, firstError, isUnauthenticated, type UiError } from "../errors";
import { CustomDocument, UpdateCustomDocument } from "../generated/graphql";
import { useI18n } from "../i18n";
import { signOut } from "../session";
import { AlertRulesSection, WebhookSection } from "./AlertSettings";

const MAX_ITEMS = 20;

interface Item {
  key: number;
  text: string;
}

let nextKey = 1;
const item = (text: string): Item => ({ key: nextKey++, text });

/** The 1-based instruction a server message names, if any. */
function namedPosition(error: UiError): number | null {
  const match = /^Instruction (\d+)\b/.exec(error.message);
  return match ? Number(match[1]) : null;
}

export function SettingsPage() {
  const { t } = useI18n();
  const custom = useQuery(CustomDocument, { fetchPolicy: "network-only" });
  const [update, { loading: saving }] = useMutation(UpdateCustomDocument);
  const [items, setItems] = useState<Item[] | null>(null);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<UiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [dirty, setDirty] = useState(false);
  const focusAfter = useRef<string | null>(null);

  useEffect(() => {
    if (custom.data && items === null) setItems(custom.data.custom.map(item));
  }, [custom.data, items]);

  useEffect(() => {
    if (custom.error && isUnauthenticated(custom.error)) signOut();
  }, [custom.error]);

  useEffect(() => {
    if (focusAfter.current) {
      document.getElementById(focusAfter.current)?.focus();
      focusAfter.current = null;
    }
  });

  const change = (next: Item[]) => {
    setItems(next);
    setDirty(true);
    setSaved(false);
  };

  const list = items ?? [];
  const move = (index: number, by: -1 | 1) => {
    const target = index + by;
    if (target < 0 || target >= list.length) return;
    const next = [...list];
    const [moved] = next.splice(index, 1);
    if (!moved) return;
    next.splice(target, 0, moved);
    focusAfter.current = `move-${by < 0 ? "up" : "down"}-${moved.key}`;
    if (target === 0 && by < 0) focusAfter.current = `move-down-${moved.key}`;
    if (target === next.length - 1 && by > 0) focusAfter.current = `move-up-${moved.key}`;
    change(next);
  };
  const remove = (index: number) => {
    const next = list.filter((_, i) => i !== index);
    const neighbour = next[Math.min(index, next.length - 1)];
    focusAfter.current = neighbour ? `instruction-${neighbour.key}` : "new-instruction";
    change(next);
  };
  const add = (event: FormEvent) => {
    event.preventDefault();
    if (list.length >= MAX_ITEMS || draft.trim() === "") return;
    change([...list, item(draft)]);
    setDraft("");
  };
  const save = async () => {
    setError(null);
    setSaved(false);
    try {
      const { data } = await update({ variables: { custom: list.map((i) => i.text) } });
      if (data) {
        setSaved(true);
        setDirty(false);
      }
    } catch (e) {
      if (isUnauthenticated(e)) return signOut();
      setError(firstError(e));
    }
  };

  const position = error ? namedPosition(error) : null;
  const listError = error && position === null ? describe(t, error) : null;

  return (
    <>
      <h1 tabIndex={-1}>{t("settingsTitle")}</h1>
      <section className="card" aria-labelledby="instructions-title">
        <h2 id="instructions-title">{t("instructionsTitle")}</h2>
        <p className="lead">{t("instructionsLead", { max: MAX_ITEMS })}</p>
        {items === null && <p className="muted">{t("loading")}</p>}
        {items !== null && list.length === 0 && <p className="muted">{t("noInstructions")}</p>}
        <ol className="instructions" data-testid="instructions">
          {list.map((entry, index) => {
            const n = index + 1;
            const message = error && position === n ? describe(t, error) : null;
            const errorId = `instruction-error-${entry.key}`;
            return (
              <li key={entry.key} className={message ? "instruction field-invalid" : "instruction"}>
                <label htmlFor={`instruction-${entry.key}`} className="visually-hidden">
                  {t("instructionN", { n })}
                </label>
                <span className="instruction-number" aria-hidden="true">
                  {n}
                </span>
                <input
                  id={`instruction-${entry.key}`}
                  value={entry.text}
                  maxLength={400}
                  onChange={(e) => change(list.map((i) => (i.key === entry.key ? { ...i, text: e.target.value } : i)))}
                  {...(message ? { "aria-invalid": true, "aria-describedby": errorId } : {})}
                />
                <span className="instruction-buttons">
                  <button
                    type="button"
                    id={`move-up-${entry.key}`}
                    className="icon"
                    onClick={() => move(index, -1)}
                    disabled={index === 0}
                    aria-label={t("moveUp", { n })}
                    title={t("moveUp", { n })}
                  >
                    ↑
                  </button>
                  <button
                    type="button"
                    id={`move-down-${entry.key}`}
                    className="icon"
                    onClick={() => move(index, 1)}
                    disabled={index === list.length - 1}
                    aria-label={t("moveDown", { n })}
                    title={t("moveDown", { n })}
                  >
                    ↓
                  </button>
                  <button
                    type="button"
                    className="icon danger-text"
                    onClick={() => remove(index)}
                    aria-label={t("remove", { n })}
                    title={t("remove", { n })}
                  >
                    ✕
                  </button>
                </span>
                {message && (
                  <p className="field-error" id={errorId} role="alert">
                    {message}
                  </p>
                )}
              </li>
            );
          })}
        </ol>
        <form className="add-row" onSubmit={add}>
          <label htmlFor="new-instruction" className="visually-hidden">
            {t("addInstruction")}
          </label>
          <input
            id="new-instruction"
            placeholder={t("addInstruction")}
            value={draft}
            maxLength={400}
            disabled={list.length >= MAX_ITEMS}
            onChange={(e) => setDraft(e.target.value)}
            aria-describedby={list.length >= MAX_ITEMS ? "max-reached" : undefined}
          />
          <button type="submit" disabled={list.length >= MAX_ITEMS || draft.trim() === ""}>
            {t("add")}
          </button>
        </form>
        {list.length >= MAX_ITEMS && (
          <p className="hint" id="max-reached">
            {t("maxReached", { max: MAX_ITEMS })}
          </p>
        )}
        {listError && (
          <p className="field-error" role="alert" data-testid="custom-error">
            {listError}
          </p>
        )}
        <div className="save-row">
          <button type="button" className="primary" onClick={() => void save()} disabled={saving || items === null}>
            {saving ? t("saving") : t("save")}
          </button>
          <span role="status" className="muted">
            {saved ? t("saved") : dirty ? t("unsaved") : ""}
          </span>
        </div>
      </section>
      <AlertRulesSection />
      <WebhookSection />
    </>
  );
}
