// Korean first, English switchable: one dictionary per language, the same keys in both.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

const ko = {
  appName: "방구석 브리핑",
  skipToContent: "본문으로 건너뛰기",
  navLive: "실시간",
  navHistory: "기록",
  navSettings: "설정",
  mainNav: "주 메뉴",
  language: "English",
  languageLabel: "Switch the app to English",
  logout: "로그아웃",
  signedInAs: "{name} 님",
  liveNow: "진행 중",

  signInTitle: "로그인 또는 가입",
  signInLead: "처음 쓰는 아이디면 그 이름으로 계정이 만들어집니다.",
  username: "아이디",
  usernameHint: "영문·숫자·_ . - 3–32자",
  password: "비밀번호",
  passwordHint: "8자 이상",
  signInSubmit: "로그인 / 가입",
  signingIn: "확인하는 중…",
  signedUp: "{name} 계정을 새로 만들었습니다.",

  liveTitle: "실시간 브리핑",
  camera: "카메라",
  interval: "간격",
  unitSeconds: "초",
  unitMinutes: "분",
  intervalUnit: "간격 단위",
  endTime: "종료 시각",
  endTimeHint: "{when}에 끝납니다",
  endTimeTomorrow: "내일 {time}",
  endTimeToday: "오늘 {time}",
  start: "시작",
  starting: "시작하는 중…",
  end: "종료",
  ending: "종료하는 중…",
  newBriefing: "새 브리핑",
  loading: "불러오는 중…",
  noCameras: "설정된 카메라가 없습니다.",
  linkLive: "실시간 연결됨",
  linkConnecting: "연결하는 중…",
  linkReconnecting: "연결이 끊겨 다시 연결하는 중…",
  linkOffline: "오프라인입니다. 네트워크가 돌아오면 이어받습니다.",
  resumedReload: "페이지를 다시 열어 #{after} 이후부터 이어받았습니다. 빠지거나 겹친 브리핑은 없습니다.",
  resumedNetwork: "연결이 복구되어 #{after} 이후부터 이어받았습니다. 빠지거나 겹친 브리핑은 없습니다.",
  resumedDropped: "(중복 {n}건은 걸러냈습니다)",
  runningInfo: "{camera} · {interval}마다 · {end}까지",
  endedBanner: "브리핑이 끝났습니다: {reason}",
  viewInHistory: "기록에서 보기",
  feedTitle: "브리핑",
  feedEmpty: "첫 브리핑을 기다리는 중…",
  feedCount: "{n}건",
  chartLive: "실시간 인원",
  chartLabel: "분류별 인원 변화 그래프, 점 {n}개",
  total: "합계",
  source_LLM: "AI",
  source_TEMPLATE: "템플릿",
  captionFailed: "실패: {error}",

  historyTitle: "브리핑 기록",
  historyEmpty: "아직 브리핑이 없습니다.",
  colName: "이름",
  colStatus: "상태",
  colSpan: "기간",
  colBriefings: "브리핑",
  colSkipped: "건너뜀",
  skippedN: "건너뜀 {n}",
  briefingsN: "{n}건",
  status_ACTIVE: "진행 중",
  status_ENDED: "종료",
  status_EXPIRED: "완료",
  status_FAILED: "실패",
  reason_ENDED_BY_USER: "직접 종료",
  reason_REACHED_ENDTIME: "종료 시각 도달",
  reason_REPLACED: "새 브리핑으로 교체",
  reason_FAILED: "실패",
  backToHistory: "← 기록",
  recorded: "기록된 구간 {from} – {to}",
  requestNotFound: "이 브리핑을 찾을 수 없습니다.",
  chartHistory: "시간별 인원",
  tableTitle: "브리핑 목록",
  colSeq: "#",
  colTime: "시각",
  colCounts: "인원",
  colCaption: "내용",
  colSource: "작성",
  summaryTitle: "AI 요약",
  summaryAsk: "요약 만들기",
  summaryRefresh: "새로 쓰기",
  summaryWorking: "요약을 쓰는 중… {s}초 (길게는 1분쯤 걸립니다)",
  summaryMeta: "{source} · {when}",
  summaryCached: "저장된 요약",
  summaryByModel: "AI ({model})",
  summaryByTemplate: "템플릿",
  downloadCsv: "CSV 내려받기",
  downloading: "내려받는 중…",
  downloaded: "{name} 저장됨",
  intervalEvery: "{n}초",
  minutesN: "{n}분",
  hoursN: "{h}시간 {m}분",

  settingsTitle: "설정",
  instructionsTitle: "캡션 지시문",
  instructionsLead: "브리핑 문장을 쓸 때 따를 지시입니다. 위에 있을수록 먼저 적용됩니다. 최대 {max}개.",
  instructionN: "지시문 {n}",
  moveUp: "{n}번 위로",
  moveDown: "{n}번 아래로",
  remove: "{n}번 삭제",
  addInstruction: "새 지시문",
  add: "추가",
  maxReached: "최대 {max}개까지 둘 수 있습니다.",
  save: "저장",
  saving: "저장하는 중…",
  saved: "저장했습니다.",
  unsaved: "저장하지 않은 변경이 있습니다.",
  noInstructions: "지시문이 없습니다.",

  errorGeneric: "문제가 생겼습니다: {message}",
  errorNetwork: "서버에 연결할 수 없습니다.",
  errorRateLimited: "요청이 많습니다. {s}초 뒤에 다시 해 주세요.",
  errorSession: "로그인이 만료되었습니다. 다시 로그인해 주세요.",
  retry: "다시 시도",
  notFoundTitle: "없는 페이지입니다",
  goLive: "실시간 브리핑으로",
  label_male: "남성",
  label_female: "여성",
  label_person: "사람",
} as const;

export type MessageKey = keyof typeof ko;
type Dictionary = Record<MessageKey, string>;

const en: Dictionary = {
  appName: "Bangguseok Briefing",
  skipToContent: "Skip to content",
  navLive: "Live",
  navHistory: "History",
  navSettings: "Settings",
  mainNav: "Main menu",
  language: "한국어",
  languageLabel: "앱을 한국어로 보기",
  logout: "Log out",
  signedInAs: "{name}",
  liveNow: "Live",

  signInTitle: "Sign in or sign up",
  signInLead: "A new username creates an account with that name.",
  username: "Username",
  usernameHint: "3–32 letters, digits, _ . -",
  password: "Password",
  passwordHint: "at least 8 characters",
  signInSubmit: "Sign in / up",
  signingIn: "Checking…",
  signedUp: "Created the account {name}.",

  liveTitle: "Live briefing",
  camera: "Camera",
  interval: "Interval",
  unitSeconds: "seconds",
  unitMinutes: "minutes",
  intervalUnit: "Interval unit",
  endTime: "End time",
  endTimeHint: "Ends {when}",
  endTimeTomorrow: "tomorrow at {time}",
  endTimeToday: "today at {time}",
  start: "Start",
  starting: "Starting…",
  end: "End",
  ending: "Ending…",
  newBriefing: "New briefing",
  loading: "Loading…",
  noCameras: "No camera is configured.",
  linkLive: "Live",
  linkConnecting: "Connecting…",
  linkReconnecting: "Connection lost, reconnecting…",
  linkOffline: "Offline. The feed resumes when the network is back.",
  resumedReload: "Page reopened: resumed after #{after}, nothing missed or repeated.",
  resumedNetwork: "Connection restored: resumed after #{after}, nothing missed or repeated.",
  resumedDropped: "({n} duplicates filtered out)",
  runningInfo: "{camera} · every {interval} · until {end}",
  endedBanner: "The briefing ended: {reason}",
  viewInHistory: "View in history",
  feedTitle: "Briefings",
  feedEmpty: "Waiting for the first briefing…",
  feedCount: "{n}",
  chartLive: "People now",
  chartLabel: "Chart of people per class over time, {n} points",
  total: "Total",
  source_LLM: "AI",
  source_TEMPLATE: "Template",
  captionFailed: "Failed: {error}",

  historyTitle: "History",
  historyEmpty: "No briefings yet.",
  colName: "Name",
  colStatus: "Status",
  colSpan: "Span",
  colBriefings: "Briefings",
  colSkipped: "Skipped",
  skippedN: "{n} skipped",
  briefingsN: "{n}",
  status_ACTIVE: "Running",
  status_ENDED: "Ended",
  status_EXPIRED: "Completed",
  status_FAILED: "Failed",
  reason_ENDED_BY_USER: "ended by you",
  reason_REACHED_ENDTIME: "reached its end time",
  reason_REPLACED: "replaced by a new briefing",
  reason_FAILED: "failed",
  backToHistory: "← History",
  recorded: "Recorded {from} – {to}",
  requestNotFound: "This briefing was not found.",
  chartHistory: "People over time",
  tableTitle: "Briefings",
  colSeq: "#",
  colTime: "Time",
  colCounts: "People",
  colCaption: "Caption",
  colSource: "By",
  summaryTitle: "AI summary",
  summaryAsk: "Write the summary",
  summaryRefresh: "Write it again",
  summaryWorking: "Writing the summary… {s} s (it can take about a minute)",
  summaryMeta: "{source} · {when}",
  summaryCached: "stored summary",
  summaryByModel: "AI ({model})",
  summaryByTemplate: "Template",
  downloadCsv: "Download CSV",
  downloading: "Downloading…",
  downloaded: "Saved {name}",
  intervalEvery: "{n} s",
  minutesN: "{n} min",
  hoursN: "{h} h {m} min",

  settingsTitle: "Settings",
  instructionsTitle: "Caption instructions",
  instructionsLead: "How captions are written; higher ones come first. At most {max}.",
  instructionN: "Instruction {n}",
  moveUp: "Move {n} up",
  moveDown: "Move {n} down",
  remove: "Remove {n}",
  addInstruction: "New instruction",
  add: "Add",
  maxReached: "At most {max} instructions.",
  save: "Save",
  saving: "Saving…",
  saved: "Saved.",
  unsaved: "You have unsaved changes.",
  noInstructions: "No instructions.",

  errorGeneric: "Something went wrong: {message}",
  errorNetwork: "Cannot reach the server.",
  errorRateLimited: "Too many requests. Try again in {s} s.",
  errorSession: "Your session expired. Please sign in again.",
  retry: "Try again",
  notFoundTitle: "Page not found",
  goLive: "Go to the live briefing",
  label_male: "Men",
  label_female: "Women",
  label_person: "People",
};

export type Lang = "ko" | "en";
const DICTIONARIES: Record<Lang, Dictionary> = { ko, en };
const LANG_KEY = "briefing.lang";

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: Translate;
}

const I18nContext = createContext<I18n | null>(null);

function initialLang(): Lang {
  try {
    return localStorage.getItem(LANG_KEY) === "en" ? "en" : "ko";
  } catch {
    return "ko";
  }
}

export function format(template: string, vars?: Record<string, string | number>): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = useCallback((next: Lang) => {
    setLangState(next);
    try {
      localStorage.setItem(LANG_KEY, next);
    } catch {
      // private mode: the choice lasts until the page closes
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const value = useMemo<I18n>(() => {
    const dictionary = DICTIONARIES[lang];
    return { lang, setLang, t: (key, vars) => format(dictionary[key], vars) };
  }, [lang, setLang]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const found = useContext(I18nContext);
  if (found === null) throw new Error("useI18n outside I18nProvider");
  return found;
}

/** The label's name in the current language (`male` → 남성), or the label itself. */
export function labelName(t: Translate, label: string): string {
  const key = `label_${label}`;
  return key in ko ? t(key as MessageKey) : label;
}
