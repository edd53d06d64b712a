//! Decoding a document whose kind is known only from its root element.

use serde::Serialize;

use super::common::Document;
use super::host::{Host, HostPool};
use super::template::{Template, TemplatePool};
use super::user::{SystemConfig, User, UserPool};
use super::vm::{MonitoringData, Vm, VmPool};
use crate::error::{DecodeError, Error, Result};

/// Any document this crate models, chosen by its root element.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "document")]
pub enum AnyDocument {
    /// `<VM>`.
    Vm(Box<Vm>),
    /// `<VM_POOL>`.
    VmPool(VmPool),
    /// `<VMTEMPLATE>`.
    Template(Box<Template>),
    /// `<VMTEMPLATE_POOL>`.
    TemplatePool(TemplatePool),
    /// `<HOST>`.
    Host(Box<Host>),
    /// `<HOST_POOL>`.
    HostPool(HostPool),
    /// `<USER>`.
    User(Box<User>),
    /// `<USER_POOL>`.
    UserPool(UserPool),
    /// `<MONITORING_DATA>`.
    Monitoring(MonitoringData),
    /// `<OPENNEBULA_CONFIGURATION>`.
    SystemConfig(SystemConfig),
}

impl AnyDocument {
    /// Decodes `xml` as the model its root element names.
    ///
    /// # Errors
    /// [`Error::Decode`] for a malformed document or a root this crate does not model.
    pub fn from_xml(xml: &str) -> Result<Self> {
        let root = root_name(xml);
        Ok(match root.as_deref() {
            Some(Vm::ROOT) => Self::Vm(Box::new(Vm::from_xml(xml)?)),
            Some(VmPool::ROOT) => Self::VmPool(VmPool::from_xml(xml)?),
            Some(Template::ROOT) => Self::Template(Box::new(Template::from_xml(xml)?)),
            Some(TemplatePool::ROOT) => Self::TemplatePool(TemplatePool::from_xml(xml)?),
            Some(Host::ROOT) => Self::Host(Box::new(Host::from_xml(xml)?)),
            Some(HostPool::ROOT) => Self::HostPool(HostPool::from_xml(xml)?),
            Some(User::ROOT) => Self::User(Box::new(User::from_xml(xml)?)),
            Some(UserPool::ROOT) => Self::UserPool(UserPool::from_xml(xml)?),
            Some(MonitoringData::ROOT) => Self::Monitoring(MonitoringData::from_xml(xml)?),
            Some(SystemConfig::ROOT) => Self::SystemConfig(SystemConfig::from_xml(xml)?),
            other => {
                // Let the VM decoder produce the located "expected <VM>, found <X>" error.
                let found = other.unwrap_or_default();
                return Err(match Vm::from_xml(xml) {
                    Err(e) => e,
                    Ok(_) => Error::Decode(DecodeError {
                        document: "document".to_owned(),
                        path: found.to_owned(),
                        line: 1,
                        column: 1,
                        reason: "unsupported document".to_owned(),
                    }),
                });
            }
        })
    }
}

/// The root element's name, if the document has one.
fn root_name(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) | Ok(quick_xml::events::Event::Empty(e)) => {
                return Some(e.name().0.to_owned());
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return None,
            Ok(quick_xml::events::Event::DocType(_)) => return None,
            Ok(_) => {}
        }
    }
}
