// Words for a failed command, from the catalogue: the kind says what went wrong in the window's
// language; the detail is OpenNebula's own message (quoted verbatim), a worded form problem, or the
// shell's English sentence as a last resort (never the only text: the kind is always worded).
import { t, type MessageKey } from "./i18n/messages";
import type { ErrorKind, IpcError } from "./ipc";

const kindKeys: Record<ErrorKind | "unknown", MessageKey> = {
  internal: "error_kind_internal",
  invalidInput: "error_kind_invalid_input",
  keyringUnavailable: "error_kind_keyring_unavailable",
  secretMissing: "error_kind_secret_missing",
  notSignedIn: "error_kind_not_signed_in",
  authentication: "error_kind_authentication",
  authorization: "error_kind_authorization",
  notFound: "error_kind_not_found",
  wrongState: "error_kind_wrong_state",
  network: "error_kind_network",
  tls: "error_kind_tls",
  malformedReply: "error_kind_malformed_reply",
  noConsole: "error_kind_no_console",
  profileFile: "error_kind_profile_file",
  storage: "error_kind_storage",
  allocation: "error_kind_allocation",
  recording: "error_kind_recording",
  remoteViewer: "error_kind_remote_viewer",
  ssh: "error_kind_ssh",
  unknown: "error_kind_unknown",
};

/** A form problem as the validator or the shell's `invalidInput` params describe it. */
export interface ProblemShape {
  problem: string;
  min?: number | null;
  max?: number | null;
  value?: string;
}

/** The catalogue's words for a form problem ("Enter a whole number"). */
export function problemText(p: ProblemShape): string {
  switch (p.problem) {
    case "required":
      return t("input_problem_required");
    case "notANumber":
      return t("input_problem_not_a_number");
    case "notAnInteger":
      return t("input_problem_not_an_integer");
    case "outOfRange": {
      const min = p.min ?? null;
      const max = p.max ?? null;
      if (min !== null && max !== null) return t("input_problem_out_of_range", { min, max });
      if (min !== null) return t("input_problem_below_min", { min });
      if (max !== null) return t("input_problem_above_max", { max });
      return t("input_problem_invalid");
    }
    case "notOffered":
      return p.value === undefined ? t("input_problem_invalid") : t("input_problem_not_offered", { value: p.value });
    case "notBoolean":
      return t("input_problem_not_boolean");
    case "tooLong":
      return t("input_problem_too_long");
    case "linkMalformed":
      return t("link_problem_malformed");
    case "linkCredentials":
      return t("link_problem_credentials");
    case "linkUnknownEndpoint":
      return t("link_problem_unknown_endpoint", { endpoint: p.value ?? "" });
    case "linkVmNotListed":
      return t("link_problem_vm_not_listed", { vmId: p.value ?? "" });
    default:
      return t("input_problem_invalid");
  }
}

/** The shell's `invalidInput` params as a problem, or null when it sent none. */
export function problemOf(error: IpcError): (ProblemShape & { field: string | null }) | null {
  if (error.kind !== "invalidInput") return null;
  const problem = error.text("problem");
  if (problem === null) return null;
  const value = error.text("value");
  return {
    field: error.text("field"),
    problem,
    min: error.number("min"),
    max: error.number("max"),
    ...(value === null ? {} : { value }),
  };
}

/** What a failure's message element shows. */
export interface ErrorText {
  /** The kind, worded in the window's language. */
  kind: string;
  /** OpenNebula's own words, a worded form problem or the shell's sentence; null when there is nothing more. */
  detail: string | null;
  /** True when `detail` is OpenNebula's verbatim message (shown quoted). */
  fromOned: boolean;
}

/** Words `error` from the catalogue. */
export function describeError(error: IpcError): ErrorText {
  const kind = t(kindKeys[error.kind]);
  const oned = error.oned;
  if (oned !== null) return { kind, detail: oned, fromOned: true };
  if (error.kind === "ssh") {
    return { kind, detail: sshProblemText(error), fromOned: false };
  }
  if (error.kind === "remoteViewer" && error.text("problem") === "missing") {
    return { kind, detail: t("remote_viewer_missing"), fromOned: false };
  }
  const problem = problemOf(error);
  if (problem) {
    const text = problemText(problem);
    return {
      kind,
      detail: problem.field === null ? text : t("input_problem_in_field", { field: problem.field, problem: text }),
      fromOned: false,
    };
  }
  return { kind, detail: error.message.trim() === "" ? null : error.message, fromOned: false };
}

/** The catalogue's words for an `ssh` error's `problem`, with its params. */
export function sshProblemText(error: IpcError): string {
  const host = error.text("host") ?? "";
  const port = error.number("port") ?? 22;
  const detail = error.text("detail") ?? error.message;
  switch (error.text("problem")) {
    case "unreachable":
      return t("ssh_problem_unreachable", { host, port, detail });
    case "hostKeyUnknown":
      return t("ssh_problem_host_key_unknown", { host, port, fingerprint: error.text("fingerprint") ?? "" });
    case "hostKeyChanged":
      return t("ssh_problem_host_key_changed", {
        host,
        port,
        fingerprint: error.text("fingerprint") ?? "",
        file: error.text("file") ?? "",
        line: error.number("line") ?? 0,
      });
    case "hostKeyRevoked":
      return t("ssh_problem_host_key_revoked", {
        host,
        port,
        fingerprint: error.text("fingerprint") ?? "",
        file: error.text("file") ?? "",
        line: error.number("line") ?? 0,
      });
    case "auth":
      return t("ssh_problem_auth", { user: error.text("user") ?? "", host, port, method: error.text("method") ?? "" });
    case "credentials":
      return t("ssh_problem_credentials", { detail });
    case "targetRefused":
      return t("ssh_problem_target_refused", { host, port });
    case "disconnected":
      return t("ssh_problem_disconnected");
    default:
      return detail;
  }
}
