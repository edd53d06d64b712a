//! Pieces shared by every document: generic template attributes, permissions, locks, and the
//! small decoding helpers the models use.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::xml::{Cursor, El, Fail, parse_num};

/// A document type oned returns, decodable from its XML text.
pub trait Document: Sized {
    /// The root element's name (`VM`, `VM_POOL`...).
    const ROOT: &'static str;

    /// Decodes a whole document (as oned sends it inside the XML-RPC string).
    ///
    /// # Errors
    /// [`Error::Decode`] with the element path and line/column where the document breaks.
    fn from_xml(xml: &str) -> Result<Self>;
}

/// Runs a root decoder over a whole document and locates any failure.
pub(crate) fn decode_document<T>(
    xml: &str,
    root_name: &str,
    decode_root: impl FnOnce(&mut Cursor<'_>, &El<'_>) -> Result<T, Fail>,
) -> Result<T> {
    let run = || -> Result<T, Fail> {
        let mut c = Cursor::new(xml);
        let root = c.root(root_name)?;
        let doc = decode_root(&mut c, &root)?;
        c.finish()?;
        Ok(doc)
    };
    run().map_err(|f| Error::Decode(f.locate(&format!("{root_name} document"), xml)))
}

/// Implements [`Document`] for a model from its root decoder.
macro_rules! document {
    ($ty:ty, $root:literal, $decode:expr) => {
        impl $crate::model::common::Document for $ty {
            const ROOT: &'static str = $root;

            fn from_xml(xml: &str) -> $crate::error::Result<Self> {
                $crate::model::common::decode_document(xml, $root, $decode)
            }
        }
    };
}
pub(crate) use document;

/// Template attributes as oned stores them: single values and vector attributes, by name.
/// Repeated names (two `DISK`s) become a list. Anything whose name contains `PASSW` is dropped at
/// decode time, so secrets never ride along in a generic map (API.md §4.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Attributes(pub BTreeMap<String, AttrValue>);

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A single value.
    Text(String),
    /// A vector attribute (`DISK = [ ... ]`).
    Vector(Attributes),
    /// The same name given more than once.
    List(Vec<AttrValue>),
}

impl Attributes {
    /// The value of a single attribute, if present and single.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.0.get(name)? {
            AttrValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// Any attribute by name.
    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.0.get(name)
    }

    /// True when there is no attribute.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn add(&mut self, name: String, value: AttrValue) {
        match self.0.get_mut(&name) {
            None => {
                self.0.insert(name, value);
            }
            Some(AttrValue::List(list)) => list.push(value),
            Some(existing) => {
                let first = std::mem::replace(existing, AttrValue::List(Vec::new()));
                *existing = AttrValue::List(vec![first, value]);
            }
        }
    }

    pub(crate) fn decode(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Self, Fail> {
        let mut attrs = Self::default();
        while let Some(child) = c.next_child(el)? {
            let name = child.name().to_owned();
            let value = attr_value(c, &child, 1)?;
            if !name.contains("PASSW") {
                attrs.add(name, value);
            }
        }
        Ok(attrs)
    }
}

/// How deeply template attributes may nest. oned's templates have vector attributes one level
/// deep (`DISK = [ ... ]`); the limit keeps a hostile document from exhausting the stack.
pub const MAX_ATTRIBUTE_DEPTH: usize = 16;

fn attr_value(c: &mut Cursor<'_>, el: &El<'_>, depth: usize) -> Result<AttrValue, Fail> {
    if depth > MAX_ATTRIBUTE_DEPTH {
        return Err(Fail::new(
            el.offset,
            format!("template attributes nested too deep (more than {MAX_ATTRIBUTE_DEPTH} levels)"),
        ));
    }
    // Most attributes are leaves (`<NAME><![CDATA[value]]></NAME>`): one allocation, no events.
    if !el.empty
        && let Some(text) = c.leaf_fast(el)
    {
        return Ok(AttrValue::Text(text.to_owned()));
    }
    let mut text = String::new();
    match c.next_child_or_text(el, &mut text)? {
        None => Ok(AttrValue::Text(text)),
        Some(first) => {
            let mut attrs = Attributes::default();
            let mut next = Some(first);
            while let Some(child) = next {
                let name = child.name().to_owned();
                let value = attr_value(c, &child, depth + 1)?;
                if !name.contains("PASSW") {
                    attrs.add(name, value);
                }
                next = c.next_child(el)?;
            }
            Ok(AttrValue::Vector(attrs))
        }
    }
}

/// The nine permission bits of an object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Owner may use.
    pub owner_u: bool,
    /// Owner may manage.
    pub owner_m: bool,
    /// Owner may administer.
    pub owner_a: bool,
    /// Group may use.
    pub group_u: bool,
    /// Group may manage.
    pub group_m: bool,
    /// Group may administer.
    pub group_a: bool,
    /// Others may use.
    pub other_u: bool,
    /// Others may manage.
    pub other_m: bool,
    /// Others may administer.
    pub other_a: bool,
}

impl Permissions {
    pub(crate) fn decode(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Self, Fail> {
        let mut p = Self::default();
        while let Some(child) = c.next_child(el)? {
            let slot = match child.name() {
                "OWNER_U" => &mut p.owner_u,
                "OWNER_M" => &mut p.owner_m,
                "OWNER_A" => &mut p.owner_a,
                "GROUP_U" => &mut p.group_u,
                "GROUP_M" => &mut p.group_m,
                "GROUP_A" => &mut p.group_a,
                "OTHER_U" => &mut p.other_u,
                "OTHER_M" => &mut p.other_m,
                "OTHER_A" => &mut p.other_a,
                _ => {
                    c.skip(&child)?;
                    continue;
                }
            };
            *slot = flag(c, &child)?;
        }
        Ok(p)
    }

    /// The `um- --- ---` form `onevm show` prints.
    pub fn octal_string(&self) -> String {
        let bits = |u: bool, m: bool, a: bool| {
            format!(
                "{}{}{}",
                if u { 'u' } else { '-' },
                if m { 'm' } else { '-' },
                if a { 'a' } else { '-' }
            )
        };
        format!(
            "{} {} {}",
            bits(self.owner_u, self.owner_m, self.owner_a),
            bits(self.group_u, self.group_m, self.group_a),
            bits(self.other_u, self.other_m, self.other_a)
        )
    }
}

/// An object lock (`LOCK`): who locked what, and when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// 1 use, 2 manage, 3 admin, 4 all operations locked.
    pub locked: i32,
    /// The user id that locked it.
    pub owner: Option<i32>,
    /// Epoch seconds.
    pub time: Option<i64>,
    /// The request id.
    pub req_id: Option<i64>,
}

impl Lock {
    pub(crate) fn decode(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Self, Fail> {
        let mut l = Self::default();
        while let Some(child) = c.next_child(el)? {
            match child.name() {
                "LOCKED" => l.locked = num(c, &child, "an integer")?,
                "OWNER" => l.owner = opt_num(c, &child, "an integer")?,
                "TIME" => l.time = opt_num(c, &child, "an integer")?,
                "REQ_ID" => l.req_id = opt_num(c, &child, "an integer")?,
                _ => c.skip(&child)?,
            }
        }
        Ok(l)
    }
}

/// Text of a leaf, owned.
pub(crate) fn string(c: &mut Cursor<'_>, el: &El<'_>) -> Result<String, Fail> {
    Ok(c.text(el)?.into_owned())
}

/// Text of a leaf, `None` when empty.
pub(crate) fn opt_string(c: &mut Cursor<'_>, el: &El<'_>) -> Result<Option<String>, Fail> {
    let t = c.text(el)?;
    Ok(if t.is_empty() {
        None
    } else {
        Some(t.into_owned())
    })
}

/// A required number.
pub(crate) fn num<T: FromStr>(c: &mut Cursor<'_>, el: &El<'_>, what: &str) -> Result<T, Fail> {
    let t = c.text(el)?;
    parse_num(&t, el, what)
}

/// An optional number: empty text gives `None`.
pub(crate) fn opt_num<T: FromStr>(
    c: &mut Cursor<'_>,
    el: &El<'_>,
    what: &str,
) -> Result<Option<T>, Fail> {
    let t = c.text(el)?;
    if t.trim().is_empty() {
        Ok(None)
    } else {
        parse_num(&t, el, what).map(Some)
    }
}

/// A flag written as `1`/`0` or `YES`/`NO`.
pub(crate) fn flag(c: &mut Cursor<'_>, el: &El<'_>) -> Result<bool, Fail> {
    let t = c.text(el)?;
    match t.trim() {
        "1" | "YES" | "yes" | "Yes" | "true" => Ok(true),
        "0" | "NO" | "no" | "No" | "false" | "" => Ok(false),
        other => Err(Fail::new(
            el.offset,
            format!("<{}> must be 0/1 or YES/NO, found {other:?}", el.name()),
        )),
    }
}
