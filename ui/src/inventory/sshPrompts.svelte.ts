// What a console through SSH may need from the user before it opens: an unknown host key to
// compare and accept, or the SSH password (again after a refusal). The console opens once answered.
import type { ErrorBanner } from "../lib/errors.svelte";
import { sshHostKeyAccept, sshSecretSave, type IpcError, type VmSummary } from "../lib/ipc";

/** What the main window asks before a console through SSH can open. */
export type SshPrompt =
  | { kind: "hostKey"; profileId: string; vm: VmSummary; host: string; port: number; fingerprint: string }
  | { kind: "secret"; profileId: string; vm: VmSummary; profile: string; refused: boolean };

/** Opens a VM's console again once the prompt is answered. */
type Reopen = (vm: VmSummary) => Promise<void>;

/** The prompt shown (at most one) and what answering it does. */
export class SshPrompts {
  /** An SSH host key to accept or an SSH password to enter before the console opens. */
  prompt = $state<SshPrompt | null>(null);
  /** What answering the prompt reopens: the VNC console or the SPICE hand-off. */
  #reopen: Reopen = async () => undefined;
  readonly #errors: ErrorBanner;

  constructor(errors: ErrorBanner) {
    this.#errors = errors;
  }

  /** Turns an SSH error that the user can resolve into a prompt (answering it calls `reopen`); false for the others. */
  ask(profileId: string, vm: VmSummary, error: IpcError, reopen: Reopen): boolean {
    const problem = error.text("problem");
    if (error.kind === "ssh" && problem === "hostKeyUnknown") {
      this.prompt = {
        kind: "hostKey",
        profileId,
        vm,
        host: error.text("host") ?? "",
        port: error.number("port") ?? 22,
        fingerprint: error.text("fingerprint") ?? "",
      };
      this.#reopen = reopen;
      return true;
    }
    const refused = error.kind === "ssh" && problem === "auth" && error.text("method") === "password";
    if ((error.kind === "secretMissing" && error.text("slot") === "ssh") || refused) {
      this.prompt = { kind: "secret", profileId, vm, profile: error.text("profile") ?? "", refused };
      this.#reopen = reopen;
      return true;
    }
    return false;
  }

  /** The user accepts the host key shown (after comparing it): remember it, open the console. */
  async acceptHostKey(): Promise<void> {
    const prompt = this.prompt;
    if (prompt?.kind !== "hostKey") return;
    this.prompt = null;
    try {
      await sshHostKeyAccept({ id: prompt.profileId, fingerprint: prompt.fingerprint });
    } catch (error) {
      this.#errors.show(error, "ssh_host_key_accept");
      return;
    }
    await this.#reopen(prompt.vm);
  }

  /** The user typed the SSH password or passphrase: store it, open the console. */
  async saveSecret(secret: string, keep: boolean): Promise<void> {
    const prompt = this.prompt;
    if (prompt?.kind !== "secret") return;
    this.prompt = null;
    try {
      await sshSecretSave({ id: prompt.profileId, secret, sessionOnly: !keep });
    } catch (error) {
      this.#errors.show(error, "ssh_secret_save");
      return;
    }
    await this.#reopen(prompt.vm);
  }

  /** Closes the prompt without opening anything. */
  dismiss(): void {
    this.prompt = null;
  }
}
