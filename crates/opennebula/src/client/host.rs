//! The host calls.

use super::Client;
use crate::error::Result;
use crate::model::host::{Host, HostPool};
use crate::model::ids::HostId;
use crate::xmlrpc::Param;

impl Client {
    /// `one.hostpool.info` (empty for users without HOST:USE).
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn host_pool_info(&self) -> Result<HostPool> {
        self.call_doc("one.hostpool.info", &[]).await
    }

    /// `one.host.info`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn host_info(&self, id: HostId) -> Result<Host> {
        self.call_doc("one.host.info", &[Param::Int(id.0), Param::Bool(false)])
            .await
    }
}
