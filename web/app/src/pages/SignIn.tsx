// One form for both, as `login` does: a new username signs up, a known one signs in.
import { useMutation } from "@apollo/client/react";
import { useState, type FormEvent } from "react";

import { describe, uiErrors, type UiError } from "../errors";
import { Field } from "../Field";
import { LoginDocument } from "../generated/graphql";
import { useI18n } from "../i18n";
import { signIn } from "../session";

export function SignIn({ onSignedUp }: { onSignedUp: (username: string) => void }) {
  const { t } = useI18n();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<UiError[]>([]);
  const [login, { loading }] = useMutation(LoginDocument);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setErrors([]);
    try {
      const { data } = await login({ variables: { username: username.trim(), password } });
      if (!data) return;
      if (data.login.message === "signup") onSignedUp(username.trim());
      signIn({ token: data.login.token, username: username.trim() });
    } catch (error) {
      setErrors(uiErrors(error));
    }
  };

  const forField = (field: string) => errors.find((e) => e.field === field);
  const general = errors.filter((e) => e.field !== "username" && e.field !== "password");
  const fieldText = (field: string) => {
    const found = forField(field);
    return found ? describe(t, found) : null;
  };

  return (
    <section className="card narrow" aria-labelledby="signin-title">
      <h1 id="signin-title" tabIndex={-1}>
        {t("signInTitle")}
      </h1>
      <p className="lead">{t("signInLead")}</p>
      <form onSubmit={submit} noValidate>
        <Field label={t("username")} hint={t("usernameHint")} error={fieldText("username")}>
          {(props) => (
            <input
              {...props}
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              required
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          )}
        </Field>
        <Field label={t("password")} hint={t("passwordHint")} error={fieldText("password")}>
          {(props) => (
            <input
              {...props}
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        {general.map((e, i) => (
          <p key={i} className="form-error" role="alert">
            {describe(t, e)}
          </p>
        ))}
        <button type="submit" className="primary" disabled={loading}>
          {loading ? t("signingIn") : t("signInSubmit")}
        </button>
      </form>
    </section>
  );
}
