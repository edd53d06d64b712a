// The sidebar's endpoints: the saved profiles, which one is selected, and the calls that change them.
// Form-level failures (save, sign in) are thrown back to the form that asked; the rest go to the banner.
import type { ErrorBanner } from "../lib/errors.svelte";
import {
  IpcError,
  profileRemove,
  profileSave,
  profilesList,
  signIn,
  signOut,
  type ProfileSaveArgs,
  type ProfileSummary,
  type SignInArgs,
} from "../lib/ipc";

/** The sidebar's "All endpoints" entry, selected like a profile (never a profile's id: ids are
 * letters, digits, `-` and `_`). */
export const ALL_ENDPOINTS = "*all";

/** The main window's list of endpoints (profiles) and the selection. */
export class Endpoints {
  profiles = $state<ProfileSummary[]>([]);
  selectedId = $state<string | null>(null);
  loaded = $state(false);
  /** Why signing in with the stored secret failed, per profile (shown by the sign-in form). */
  autoSignInErrors = $state<Record<string, IpcError>>({});
  selected = $derived<ProfileSummary | null>(this.profiles.find((p) => p.id === this.selectedId) ?? null);
  /** True while "All endpoints" is selected. */
  showingAll = $derived(this.selectedId === ALL_ENDPOINTS);
  /** The signed-in profiles, in the sidebar's order. */
  signedIn = $derived<ProfileSummary[]>(this.profiles.filter((p) => p.signedIn));

  readonly #errors: ErrorBanner;
  /** Profiles already tried with their stored secret in this run: one silent try each. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
  readonly #tried = new Set<string>();

  constructor(errors: ErrorBanner) {
    this.#errors = errors;
  }

  /** Loads the profiles; keeps the selection when it still exists, else selects the first one. */
  async load(): Promise<void> {
    try {
      this.profiles = await profilesList();
      if (this.selectedId !== ALL_ENDPOINTS && !this.profiles.some((p) => p.id === this.selectedId)) {
        this.selectedId = this.profiles[0]?.id ?? null;
      }
      if (this.selectedId !== null && this.selectedId !== ALL_ENDPOINTS) void this.trySignIn(this.selectedId);
    } catch (error) {
      this.#errors.show(error, "profiles_list");
    } finally {
      this.loaded = true;
    }
  }

  /** Selects a profile by id, or "All endpoints" ([`ALL_ENDPOINTS`]). */
  select(id: string): void {
    this.selectedId = id;
    if (id !== ALL_ENDPOINTS) void this.trySignIn(id);
  }

  /**
   * Signs a signed-out profile in with its stored secret, once per run, so a user whose password
   * is in the keyring never has to type it. "Nothing stored" is the normal case of a profile kept
   * for the session only and stays silent; any other failure is shown by the sign-in form.
   */
  async trySignIn(id: string): Promise<void> {
    const profile = this.profiles.find((p) => p.id === id);
    if (!profile || profile.signedIn || this.#tried.has(id)) return;
    this.#tried.add(id);
    try {
      this.#upsert(await signIn({ id, password: null, sessionOnly: false }));
    } catch (raw) {
      const error = IpcError.from("sign_in", raw);
      if (error.kind !== "secretMissing") this.autoSignInErrors = { ...this.autoSignInErrors, [id]: error };
    }
  }

  /** Drops the silent sign-in's error once the user signs in by hand. */
  forgetAutoSignInError(id: string): void {
    if (!(id in this.autoSignInErrors)) return;
    this.autoSignInErrors = Object.fromEntries(Object.entries(this.autoSignInErrors).filter(([key]) => key !== id));
  }

  /** Saves a profile (throws IpcError for the dialog), then lists and selects it. */
  async save(args: ProfileSaveArgs): Promise<ProfileSummary> {
    const saved = await profileSave(args);
    this.#upsert(saved);
    this.selectedId = saved.id;
    return saved;
  }

  /** Signs a profile in (throws IpcError for the sign-in form). */
  async signIn(args: SignInArgs): Promise<ProfileSummary> {
    const summary = await signIn(args);
    this.#upsert(summary);
    return summary;
  }

  /** Signs a profile out; failures go to the banner. */
  async signOut(id: string): Promise<void> {
    try {
      this.#upsert(await signOut({ id }));
    } catch (error) {
      this.#errors.show(error, "sign_out");
    }
  }

  /** Removes a profile; failures go to the banner. */
  async remove(id: string): Promise<void> {
    try {
      await profileRemove({ id });
      this.profiles = this.profiles.filter((p) => p.id !== id);
      if (this.selectedId === id) this.selectedId = this.profiles[0]?.id ?? null;
    } catch (error) {
      this.#errors.show(error, "profile_remove");
    }
  }

  /** Marks a profile signed out locally after the shell said so (notSignedIn, authentication). */
  markSignedOut(id: string): void {
    this.profiles = this.profiles.map((p) => (p.id === id ? { ...p, signedIn: false } : p));
  }

  #upsert(summary: ProfileSummary): void {
    const index = this.profiles.findIndex((p) => p.id === summary.id);
    this.profiles = index === -1 ? [...this.profiles, summary] : this.profiles.map((p, i) => (i === index ? summary : p));
  }
}
