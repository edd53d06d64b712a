//! Endpoint profiles and sign-in.

use onedeck_core::{Deck, ProfileId, ProfileInput, ProfileSummary};
use tauri::State;

use crate::error::CommandError;

/// Every profile with its sign-in state, the demo cloud first.
#[tauri::command]
pub async fn profiles_list(deck: State<'_, Deck>) -> Result<Vec<ProfileSummary>, CommandError> {
    Ok(deck.profiles().await?)
}

/// Signs in with the form's values, then saves the profile and its secret.
#[tauri::command]
pub async fn profile_save(
    deck: State<'_, Deck>,
    input: ProfileInput,
    password: Option<String>,
    session_only: bool,
) -> Result<ProfileSummary, CommandError> {
    Ok(deck.save_profile(input, password, session_only).await?)
}

/// Removes a profile, its secret and its cache.
#[tauri::command]
pub async fn profile_remove(deck: State<'_, Deck>, id: ProfileId) -> Result<(), CommandError> {
    deck.remove_profile(&id).await?;
    Ok(())
}

/// Signs in with the typed password, or the stored secret when none is given.
#[tauri::command]
pub async fn sign_in(
    deck: State<'_, Deck>,
    id: ProfileId,
    password: Option<String>,
    session_only: bool,
) -> Result<ProfileSummary, CommandError> {
    Ok(deck.sign_in(&id, password, session_only).await?)
}

/// Ends a profile's session.
#[tauri::command]
pub async fn sign_out(
    deck: State<'_, Deck>,
    id: ProfileId,
) -> Result<ProfileSummary, CommandError> {
    Ok(deck.sign_out(&id).await?)
}

/// The user compared an SSH host key's fingerprint (shown by an `ssh` error) and accepts it.
#[tauri::command]
pub async fn ssh_host_key_accept(
    deck: State<'_, Deck>,
    id: ProfileId,
    fingerprint: String,
) -> Result<(), CommandError> {
    Ok(deck.ssh_host_key_accept(&id, &fingerprint).await?)
}

/// Stores the SSH password or key passphrase of an endpoint's console transport.
#[tauri::command]
pub async fn ssh_secret_save(
    deck: State<'_, Deck>,
    id: ProfileId,
    secret: String,
    session_only: bool,
) -> Result<(), CommandError> {
    Ok(deck.ssh_secret_save(&id, secret, session_only).await?)
}
