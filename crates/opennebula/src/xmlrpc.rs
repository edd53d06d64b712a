//! The XML-RPC envelope: request bodies and replies as oned's xmlrpc-c writes them (API.md §1.4).
//!
//! Written on quick-xml rather than taken from a crate, see the crate docs for why. It handles the
//! `<i8>` extension, faults, the 3-value success and 5-value failure arrays, and a reply string of
//! any size with one allocation (the unescaped document).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::xml::{Cursor, El, Fail, parse_num};

/// How deeply `<array>`s and `<struct>`s may nest in a reply. oned's replies nest two levels (the
/// failure array, a fault's struct); the limit keeps a hostile reply from exhausting the stack,
/// since values are read recursively.
pub const MAX_VALUE_DEPTH: usize = 32;

/// A request parameter, in the three types oned's methods take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    /// `<string>`.
    Str(&'a str),
    /// `<i4>` (oned's IDs and flags are 32-bit).
    Int(i32),
    /// `<boolean>`.
    Bool(bool),
}

/// A value of a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<boolean>`.
    Bool(bool),
    /// `<i4>`, `<int>` or `<i8>`.
    Int(i64),
    /// `<double>`.
    Double(f64),
    /// `<string>` (unescaped) or an untyped value.
    Str(String),
    /// `<array>`.
    Array(Vec<Value>),
    /// `<struct>` members in order.
    Struct(Vec<(String, Value)>),
    /// `<nil/>`, `<dateTime.iso8601>`, `<base64>`, kept as their text.
    Other(String),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Self::Bool(_) => "boolean",
            Self::Int(_) => "integer",
            Self::Double(_) => "double",
            Self::Str(_) => "string",
            Self::Array(_) => "array",
            Self::Struct(_) => "struct",
            Self::Other(_) => "other",
        }
    }
}

/// Builds a `<methodCall>` body. The session string goes first in `params`, like every oned call.
pub fn encode_call(method: &str, params: &[Param<'_>]) -> String {
    let mut out = String::with_capacity(128 + params.len() * 48);
    out.push_str("<?xml version=\"1.0\"?>\n<methodCall>\n<methodName>");
    escape_into(&mut out, method);
    out.push_str("</methodName>\n<params>\n");
    for p in params {
        out.push_str("<param>\n<value>");
        match p {
            Param::Str(s) => {
                out.push_str("<string>");
                escape_into(&mut out, s);
                out.push_str("</string>");
            }
            Param::Int(i) => {
                let _ = write!(out, "<i4>{i}</i4>");
            }
            Param::Bool(b) => {
                let _ = write!(out, "<boolean>{}</boolean>", u8::from(*b));
            }
        }
        out.push_str("</value>\n</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

fn escape_into(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // A literal CR would be normalised away by the server's XML parser.
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A decoded `<methodResponse>`.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodResponse {
    /// `<params>`: the reply values (oned always sends exactly one, an array).
    Params(Vec<Value>),
    /// `<fault>`: xmlrpc-c refused the call's shape.
    Fault {
        /// `faultCode`.
        code: i32,
        /// `faultString`.
        message: String,
    },
}

const DOC: &str = "XML-RPC reply";

/// Parses a reply body. Malformed bodies give [`Error::Decode`] with the element path.
///
/// # Errors
/// [`Error::Decode`] when the body is not a well-formed `<methodResponse>`.
pub fn parse_response(body: &str) -> Result<MethodResponse> {
    parse_inner(body).map_err(|f| Error::Decode(f.locate(DOC, body)))
}

fn parse_inner(body: &str) -> Result<MethodResponse, Fail> {
    let mut c = Cursor::new(body);
    let root = c.root("methodResponse")?;
    let mut result = None;
    while let Some(el) = c.next_child(&root)? {
        match el.name() {
            "params" => {
                let mut values = Vec::new();
                while let Some(param) = c.next_child(&el)? {
                    expect_name(&param, "param")?;
                    let value = c
                        .next_child(&param)?
                        .ok_or_else(|| Fail::new(param.offset, "<param> without <value>"))?;
                    expect_name(&value, "value")?;
                    values.push(parse_value(&mut c, &value, 0)?);
                    if let Some(extra) = c.next_child(&param)? {
                        return Err(Fail::new(extra.offset, "more than one <value> in <param>"));
                    }
                }
                result = Some(MethodResponse::Params(values));
            }
            "fault" => {
                let value = c
                    .next_child(&el)?
                    .ok_or_else(|| Fail::new(el.offset, "<fault> without <value>"))?;
                expect_name(&value, "value")?;
                let offset = value.offset;
                let v = parse_value(&mut c, &value, 0)?;
                if c.next_child(&el)?.is_some() {
                    return Err(Fail::new(offset, "more than one <value> in <fault>"));
                }
                result = Some(fault_from(v, offset)?);
            }
            other => {
                return Err(Fail::new(
                    el.offset,
                    format!("unexpected <{other}> in <methodResponse>"),
                ));
            }
        }
    }
    c.finish()?;
    result.ok_or_else(|| {
        Fail::new(
            root.offset,
            "<methodResponse> has neither <params> nor <fault>",
        )
    })
}

fn fault_from(v: Value, offset: usize) -> Result<MethodResponse, Fail> {
    let Value::Struct(members) = v else {
        return Err(Fail::new(
            offset,
            format!("<fault> must hold a struct, found {}", v.type_name()),
        ));
    };
    let mut code = None;
    let mut message = None;
    for (name, value) in members {
        match (name.as_str(), value) {
            ("faultCode", Value::Int(i)) => code = i32::try_from(i).ok(),
            ("faultString", Value::Str(s)) => message = Some(s),
            _ => {}
        }
    }
    match (code, message) {
        (Some(code), Some(message)) => Ok(MethodResponse::Fault { code, message }),
        _ => Err(Fail::new(offset, "<fault> lacks faultCode or faultString")),
    }
}

fn expect_name(el: &El<'_>, name: &str) -> Result<(), Fail> {
    if el.name() == name {
        Ok(())
    } else {
        Err(Fail::new(
            el.offset,
            format!("expected <{name}>, found <{}>", el.name()),
        ))
    }
}

fn parse_value(c: &mut Cursor<'_>, value: &El<'_>, depth: usize) -> Result<Value, Fail> {
    if depth > MAX_VALUE_DEPTH {
        return Err(Fail::new(
            value.offset,
            format!("values nested too deep (more than {MAX_VALUE_DEPTH} levels)"),
        ));
    }
    if value.empty {
        return Ok(Value::Str(String::new()));
    }
    // `<value>` holds either one typed element or bare text (an untyped string).
    let mut text = String::new();
    let Some(typed) = c.next_child_or_text(value, &mut text)? else {
        return Ok(Value::Str(text));
    };
    let v = match typed.name() {
        "string" => {
            let raw = c.raw_text(&typed)?;
            Value::Str(unescape(raw, typed.offset)?.into_owned())
        }
        "i4" | "int" | "i8" => Value::Int(parse_num(&c.text(&typed)?, &typed, "an integer")?),
        "boolean" => match c.text(&typed)?.trim() {
            "1" => Value::Bool(true),
            "0" => Value::Bool(false),
            other => {
                return Err(Fail::new(
                    typed.offset,
                    format!("<boolean> must be 0 or 1, found {other:?}"),
                ));
            }
        },
        "double" => Value::Double(parse_num(&c.text(&typed)?, &typed, "a number")?),
        "array" => {
            let mut items = Vec::new();
            if let Some(data) = c.next_child(&typed)? {
                expect_name(&data, "data")?;
                while let Some(v) = c.next_child(&data)? {
                    expect_name(&v, "value")?;
                    items.push(parse_value(c, &v, depth + 1)?);
                }
                if let Some(extra) = c.next_child(&typed)? {
                    return Err(Fail::new(extra.offset, "more than one <data> in <array>"));
                }
            }
            Value::Array(items)
        }
        "struct" => {
            let mut members = Vec::new();
            while let Some(m) = c.next_child(&typed)? {
                expect_name(&m, "member")?;
                let mut name = None;
                let mut val = None;
                while let Some(part) = c.next_child(&m)? {
                    match part.name() {
                        "name" => name = Some(c.text(&part)?.into_owned()),
                        "value" => val = Some(parse_value(c, &part, depth + 1)?),
                        other => {
                            return Err(Fail::new(
                                part.offset,
                                format!("unexpected <{other}> in <member>"),
                            ));
                        }
                    }
                }
                match (name, val) {
                    (Some(n), Some(v)) => members.push((n, v)),
                    _ => return Err(Fail::new(m.offset, "<member> needs <name> and <value>")),
                }
            }
            Value::Struct(members)
        }
        "nil" | "dateTime.iso8601" | "base64" => Value::Other(c.text(&typed)?.into_owned()),
        other => {
            return Err(Fail::new(
                typed.offset,
                format!("unknown XML-RPC type <{other}>"),
            ));
        }
    };
    if let Some(extra) = c.next_child(value)? {
        return Err(Fail::new(extra.offset, "more than one element in <value>"));
    }
    Ok(v)
}

/// Unescapes a `<string>`'s raw content: the five predefined entities and character references.
fn unescape(raw: &str, offset: usize) -> Result<Cow<'_, str>, Fail> {
    if raw.len() >= PARALLEL_UNESCAPE_BYTES
        && let Some(text) = unescape_parallel(raw)
    {
        return Ok(Cow::Owned(text));
    }
    crate::xml::unescape(raw).map_err(|e| Fail::new(offset, format!("bad escape in <string>: {e}")))
}

/// Strings at least this large (a big pool's document) are unescaped in slices on all cores.
const PARALLEL_UNESCAPE_BYTES: usize = 1 << 20;

/// Unescapes in slices cut right before an `&`, so no reference straddles a cut; `None` (one
/// core, a thread that cannot start, or any bad reference) sends the caller to the sequential
/// path, which also reports the error with its position.
fn unescape_parallel(raw: &str) -> Option<String> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(4);
    if threads < 2 {
        return None;
    }
    let mut cuts = vec![0];
    for k in 1..threads {
        let mut from = (raw.len() * k / threads).max(*cuts.last()?);
        while !raw.is_char_boundary(from) {
            from += 1;
        }
        cuts.push(from + memchr::memchr(b'&', raw.get(from..)?.as_bytes())?);
    }
    cuts.push(raw.len());
    cuts.dedup();
    let slices: Vec<&str> = cuts.windows(2).map(|w| &raw[w[0]..w[1]]).collect();
    let parts = std::thread::scope(|scope| {
        let handles: Vec<_> = slices[1..]
            .iter()
            .map(|slice| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || crate::xml::unescape(slice).ok())
                    .ok()
            })
            .collect();
        // The first part is unescaped straight into a buffer with room for the whole text (as
        // the sequential path reserves; pages never written are never touched), so joining
        // copies only the other parts.
        let first = crate::xml::unescape_into(slices[0], String::with_capacity(raw.len())).ok();
        let rest: Vec<Option<Cow<'_, str>>> = handles
            .into_iter()
            .map(|h| h.and_then(|h| h.join().ok()).flatten())
            .collect();
        (first, rest)
    });
    let (first, rest) = parts;
    let mut out = first?;
    for part in rest {
        out.push_str(&part?);
    }
    Some(out)
}

/// oned's reply array, checked: `[true, result, 0]` gives the result; `[false, message, code,
/// object id, i8]` gives the typed error.
///
/// # Errors
/// The typed oned error of a failure array, [`Error::Fault`] for a fault, [`Error::Decode`] when
/// the reply does not have oned's shape.
pub fn oned_result(response: MethodResponse) -> Result<Value> {
    let values = match response {
        MethodResponse::Fault { code, message } => return Err(Error::Fault { code, message }),
        MethodResponse::Params(values) => values,
    };
    let shape = |reason: String| {
        Error::Decode(crate::error::DecodeError {
            document: DOC.to_owned(),
            path: "methodResponse/params/param/value/array".to_owned(),
            line: 1,
            column: 1,
            reason,
        })
    };
    let mut params = values.into_iter();
    let (Some(Value::Array(items)), None) = (params.next(), params.next()) else {
        return Err(shape("oned replies with exactly one array".to_owned()));
    };
    let mut items = items.into_iter();
    let ok = match items.next() {
        Some(Value::Bool(b)) => b,
        Some(other) => {
            return Err(shape(format!(
                "element 0 must be a boolean, found {}",
                other.type_name()
            )));
        }
        None => return Err(shape("empty reply array".to_owned())),
    };
    let result = items
        .next()
        .ok_or_else(|| shape("reply array has no result".to_owned()))?;
    if ok {
        return Ok(result);
    }
    let message = match result {
        Value::Str(s) => s,
        other => {
            return Err(shape(format!(
                "failure message must be a string, found {}",
                other.type_name()
            )));
        }
    };
    let code = match items.next() {
        Some(Value::Int(code)) => i32::try_from(code).unwrap_or(i32::MAX),
        _ => {
            return Err(shape(
                "failure reply without an integer error code".to_owned(),
            ));
        }
    };
    let object_id = match items.next() {
        Some(Value::Int(id)) if id >= 0 => Some(id),
        _ => None,
    };
    Err(Error::from_oned(code, message, object_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_escapes_strings_and_types_params() {
        let body = encode_call(
            "one.vm.action",
            &[Param::Str("a<b>&c"), Param::Int(-3), Param::Bool(true)],
        );
        assert!(body.contains("<methodName>one.vm.action</methodName>"));
        assert!(body.contains("<string>a&lt;b&gt;&amp;c</string>"));
        assert!(body.contains("<i4>-3</i4>"));
        assert!(body.contains("<boolean>1</boolean>"));
        assert!(matches!(parse_request_shape(&body).as_slice(), [_, _, _]));
    }

    fn parse_request_shape(body: &str) -> Vec<&str> {
        body.matches("<param>").collect()
    }

    #[test]
    fn success_failure_and_i8() {
        let ok = "<?xml version=\"1.0\"?>\r\n<methodResponse><params><param><value><array><data>\r\n<value><boolean>1</boolean></value><value><string>&lt;VM&gt;&amp;&#13;&lt;/VM&gt;</string></value><value><i4>0</i4></value></data></array></value></param></params></methodResponse>";
        let v = parse_response(ok).and_then(oned_result);
        assert_eq!(v.ok(), Some(Value::Str("<VM>&\r</VM>".into())));

        let fail = "<methodResponse><params><param><value><array><data><value><boolean>0</boolean></value><value><string>[one.vm.info] Error getting virtual machine [9].</string></value><value><i4>1024</i4></value><value><i4>9</i4></value><value><i8>-1</i8></value></data></array></value></param></params></methodResponse>";
        match parse_response(fail).and_then(oned_result) {
            Err(Error::NoExists(e)) => {
                assert_eq!(e.code, 1024);
                assert_eq!(e.object_id, Some(9));
                assert!(e.message.contains("[9]"));
            }
            other => panic!("expected NoExists, got {other:?}"),
        }
    }

    #[test]
    fn untyped_value_is_a_string() {
        let body = "<methodResponse><params><param><value>plain &amp; simple</value></param></params></methodResponse>";
        assert_eq!(
            parse_response(body).ok(),
            Some(MethodResponse::Params(vec![Value::Str(
                "plain & simple".into()
            )]))
        );
    }

    #[test]
    fn parallel_unescape_equals_sequential() {
        let unit = "&lt;VM&gt;&lt;NAME&gt;é&amp;ü &#13;&#x41;&quot;&apos;&lt;/NAME&gt;&lt;/VM&gt;";
        let raw = unit.repeat(PARALLEL_UNESCAPE_BYTES / unit.len() + 10);
        let sequential = crate::xml::unescape(&raw).map(|c| c.into_owned());
        let parallel = unescape(&raw, 0)
            .map(|c| c.into_owned())
            .map_err(|f| f.reason);
        assert_eq!(parallel.ok(), sequential.ok());
        // A bad reference anywhere falls back to the sequential path and its error.
        let mut bad = raw.clone();
        bad.push_str("&lol;");
        assert!(unescape(&bad, 0).is_err_and(|f| f.reason.contains("unknown entity &lol;")));
    }

    #[test]
    fn fault_is_typed() {
        let body = "<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>-501</i4></value></member><member><name>faultString</name><value><string>Not enough parameters</string></value></member></struct></value></fault></methodResponse>";
        match parse_response(body).and_then(oned_result) {
            Err(Error::Fault { code, message }) => {
                assert_eq!(code, -501);
                assert_eq!(message, "Not enough parameters");
            }
            other => panic!("expected a fault, got {other:?}"),
        }
    }

    #[test]
    fn wrong_types_are_decode_errors_with_a_path() {
        let body = "<methodResponse><params><param><value><array><data><value><boolean>1</boolean></value><value><i4>abc</i4></value></data></array></value></param></params></methodResponse>";
        match parse_response(body) {
            Err(Error::Decode(d)) => {
                assert!(d.reason.contains("integer"), "{d}");
                assert!(d.path.ends_with("value[2]/i4"), "{}", d.path);
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        let body = "<methodResponse><params><param><value><array><data><value><string>yes</string></value></data></array></value></param></params></methodResponse>";
        assert!(matches!(
            parse_response(body).and_then(oned_result),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn truncated_reply_names_where_it_ends() {
        let body = "<methodResponse><params><param><value><array><data><value><boolean>1</boolean></value><value><string>&lt;VM&gt;";
        match parse_response(body) {
            Err(Error::Decode(d)) => assert!(
                d.path.contains("string")
                    || d.reason.contains("truncated")
                    || d.reason.contains("well-formed"),
                "{d}"
            ),
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
}
