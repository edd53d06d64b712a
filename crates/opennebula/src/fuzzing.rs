//! Entry points for the fuzz targets (`crates/fuzz`) and their corpus replay test: each takes
//! arbitrary bytes, feeds them to a parser of what an endpoint sends, and must return without
//! panicking, whatever the input. Not API: hidden from the docs.

use crate::Document;
use crate::model::any::AnyDocument;

/// The XML-RPC envelope of a reply (`decode_response_value`).
pub fn envelope(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::decode_response_value(text);
    }
}

/// The documents inside a reply: every model's decoder, and the dispatcher by root element.
pub fn documents(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = AnyDocument::from_xml(text);
    let _ = crate::Vm::from_xml(text);
    let _ = crate::VmPool::from_xml(text);
    let _ = crate::Template::from_xml(text);
    let _ = crate::TemplatePool::from_xml(text);
    let _ = crate::User::from_xml(text);
    let _ = crate::Host::from_xml(text);
    let _ = crate::MonitoringData::from_xml(text);
    let _ = crate::SystemConfig::from_xml(text);
}
