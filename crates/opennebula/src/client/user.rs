//! The user and system calls: who am I, login tokens, version and configuration.

use super::{Client, TokenValidity};
use crate::error::Result;
use crate::model::ids::{GroupId, UserId};
use crate::model::user::{SystemConfig, User};
use crate::secret::Secret;
use crate::xmlrpc::Param;

impl Client {
    /// `one.user.info(-1)`: the caller; the cheapest credential check.
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::Authentication`] for wrong credentials.
    pub async fn user_info_self(&self) -> Result<User> {
        self.user_info(UserId(-1)).await
    }

    /// `one.user.info`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn user_info(&self, id: UserId) -> Result<User> {
        self.call_doc("one.user.info", &[Param::Int(id.0), Param::Bool(false)])
            .await
    }

    /// `one.user.login` for the client's own user: a new token from oned (expiry per `validity`),
    /// optionally scoped to a group. Use it later as `Credentials::new(user, token)`.
    ///
    /// # Errors
    /// As [`Client::call`]; [`Error::Action`] when the driver disables tokens.
    pub async fn login_token_create(
        &self,
        validity: TokenValidity,
        group: Option<GroupId>,
    ) -> Result<Secret> {
        let valid = match validity {
            TokenValidity::Seconds(s) => i32::try_from(s.max(1)).unwrap_or(i32::MAX),
            TokenValidity::Never => -1,
        };
        self.login(None, valid, group).await
    }

    /// `one.user.login` with an existing token and a new validity: extends it (oned returns the
    /// same token).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn login_token_renew(
        &self,
        token: &Secret,
        validity: TokenValidity,
    ) -> Result<Secret> {
        let valid = match validity {
            TokenValidity::Seconds(s) => i32::try_from(s.max(1)).unwrap_or(i32::MAX),
            TokenValidity::Never => -1,
        };
        self.login(Some(token), valid, None).await
    }

    /// `one.user.login` with validity 0: revokes `token`, or every token of the user when `None`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn login_token_revoke(&self, token: Option<&Secret>) -> Result<()> {
        self.login(token, 0, None).await.map(drop)
    }

    async fn login(
        &self,
        token: Option<&Secret>,
        valid: i32,
        group: Option<GroupId>,
    ) -> Result<Secret> {
        let user = self.inner.credentials.user().to_owned();
        let token = token.map_or("", Secret::expose);
        let egid = group.map_or(-1, |g| g.0);
        let params = [
            Param::Str(&user),
            Param::Str(token),
            Param::Int(valid),
            Param::Int(egid),
        ];
        self.call_string("one.user.login", &params)
            .await
            .map(Secret::new)
    }

    /// `one.system.version`, e.g. `7.4.0`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn system_version(&self) -> Result<String> {
        self.call_string("one.system.version", &[]).await
    }

    /// `one.system.config` (non-admins get a copy without hidden attributes).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn system_config(&self) -> Result<SystemConfig> {
        self.call_doc("one.system.config", &[]).await
    }
}
