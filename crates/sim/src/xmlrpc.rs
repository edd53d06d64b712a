//! XML-RPC as xmlrpc-c 1.33 (oned's library) reads and writes it.
//!
//! Requests are parsed leniently (`<int>`/`<i4>`/`<i8>`, `<string>` or bare text, `<boolean>`,
//! LF or CRLF); replies are written byte for byte like the captures of a real 7.4.0 oned: CRLF
//! line ends, `<i4>` integers, the document entity-escaped inside `<string>`, 3 values on success,
//! 5 on failure, and `<fault>` structs for call-shape errors.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::xml::escape_into;

/// One XML-RPC value of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>` or `<i4>`.
    Int(i64),
    /// `<i8>` (an xmlrpc-c extension; not accepted where oned reads an int).
    I8(i64),
    /// `<boolean>`.
    Bool(bool),
    /// `<string>` or bare text.
    Str(String),
    /// `<double>`.
    Double(f64),
    /// Any other type (array, struct, base64, nil, date).
    Other,
}

/// A parsed `<methodCall>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// The method name.
    pub name: String,
    /// The parameters, in order.
    pub params: Vec<Value>,
}

/// Why a request body is not an XML-RPC call.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    /// The body is not well-formed XML.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The XML is not a `<methodCall>` with a `<methodName>`.
    #[error("not an XML-RPC call: {0}")]
    Shape(&'static str),
}

/// An XML-RPC fault as xmlrpc-c returns it (API.md §1.4).
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// The fault code (-501 type/arity, -506 unknown method, -503 parse error).
    pub code: i32,
    /// The exact fault string.
    pub message: String,
}

impl Fault {
    /// -501 `Not enough parameters`.
    pub fn not_enough() -> Self {
        Self {
            code: -501,
            message: "Not enough parameters".into(),
        }
    }

    /// -501 for a parameter of the wrong type.
    pub fn wrong_type(kind: &str) -> Self {
        Self {
            code: -501,
            message: format!("Parameter that is supposed to be {kind} is not"),
        }
    }

    /// -506 for an unknown method.
    pub fn unknown_method(name: &str) -> Self {
        Self {
            code: -506,
            message: format!("Method '{name}' not defined"),
        }
    }
}

/// Typed access to a call's parameters with xmlrpc-c's faults.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a>(pub &'a [Value]);

impl Params<'_> {
    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parameter `i` as a 32-bit integer.
    pub fn int(&self, i: usize) -> Result<i32, Fault> {
        match self.0.get(i) {
            None => Err(Fault::not_enough()),
            Some(Value::Int(v)) => i32::try_from(*v).map_err(|_| Fault::wrong_type("integer")),
            Some(_) => Err(Fault::wrong_type("integer")),
        }
    }

    /// Parameter `i` as a string.
    pub fn string(&self, i: usize) -> Result<&str, Fault> {
        match self.0.get(i) {
            None => Err(Fault::not_enough()),
            Some(Value::Str(s)) => Ok(s),
            Some(_) => Err(Fault::wrong_type("string")),
        }
    }

    /// Parameter `i` as a boolean.
    pub fn boolean(&self, i: usize) -> Result<bool, Fault> {
        match self.0.get(i) {
            None => Err(Fault::not_enough()),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(Fault::wrong_type("boolean")),
        }
    }

    /// Optional integer: the default when absent, a fault when of the wrong type.
    pub fn opt_int(&self, i: usize, default: i32) -> Result<i32, Fault> {
        if i >= self.0.len() {
            Ok(default)
        } else {
            self.int(i)
        }
    }

    /// Optional boolean.
    pub fn opt_bool(&self, i: usize, default: bool) -> Result<bool, Fault> {
        if i >= self.0.len() {
            Ok(default)
        } else {
            self.boolean(i)
        }
    }

    /// Optional string.
    pub fn opt_string(&self, i: usize, default: &'static str) -> Result<&str, Fault> {
        if i >= self.0.len() {
            Ok(default)
        } else {
            self.string(i)
        }
    }
}

/// Parses a `<methodCall>` body.
pub fn parse_call(body: &[u8]) -> Result<MethodCall, ParseError> {
    let body = std::str::from_utf8(body).map_err(|e| ParseError::Xml(e.to_string()))?;
    let mut reader = Reader::from_str(body);
    let mut name: Option<String> = None;
    let mut params = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    // The current parameter <value>: its typed child tag (if any) and text; arrays and structs
    // (which no method of oned's that we serve takes) are skipped as Value::Other.
    let mut in_value = false;
    let mut value_type: Option<String> = None;
    let mut complex_depth = 0usize;
    // The text of the typed child, frozen at its end tag so whitespace after it is ignored.
    let mut typed_text: Option<String> = None;
    let mut saw_call = false;
    let xml = |e: quick_xml::Error| ParseError::Xml(e.to_string());
    loop {
        match reader.read_event().map_err(xml)? {
            Event::Start(e) => {
                let tag = e.name().as_ref().to_string();
                if stack.is_empty() {
                    if tag != "methodCall" {
                        return Err(ParseError::Shape("root is not methodCall"));
                    }
                    saw_call = true;
                }
                if complex_depth > 0 {
                    if tag == "array" || tag == "struct" {
                        complex_depth += 1;
                    }
                } else if in_value {
                    if tag == "array" || tag == "struct" {
                        complex_depth = 1;
                    }
                    value_type = Some(tag.clone());
                    text.clear();
                } else if tag == "value" && stack.last().map(String::as_str) == Some("param") {
                    in_value = true;
                    value_type = None;
                    typed_text = None;
                    text.clear();
                } else if tag == "methodName" {
                    text.clear();
                }
                stack.push(tag);
            }
            Event::Empty(e) => {
                let tag = e.name().as_ref().to_string();
                if stack.is_empty() {
                    return Err(ParseError::Shape("empty document"));
                }
                if in_value && complex_depth == 0 {
                    value_type = Some(tag);
                    typed_text = Some(String::new());
                    text.clear();
                } else if tag == "value"
                    && stack.last().map(String::as_str) == Some("param")
                    && complex_depth == 0
                {
                    params.push(Value::Str(String::new()));
                }
            }
            Event::Text(t) => text.push_str(&t.into_inner()),
            Event::CData(c) => text.push_str(&c.into_inner()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(xml)? {
                    Some(c) => Some(c),
                    None => match r.as_ref() {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                match resolved {
                    Some(c) => text.push(c),
                    None => return Err(ParseError::Shape("unknown entity")),
                }
            }
            Event::End(e) => {
                let tag = e.name().as_ref().to_string();
                stack.pop();
                if complex_depth > 0 {
                    if tag == "array" || tag == "struct" {
                        complex_depth -= 1;
                    }
                    continue;
                }
                if tag == "methodName" {
                    name = Some(text.trim().to_string());
                } else if tag == "value" && in_value {
                    in_value = false;
                    let t = typed_text.take().unwrap_or_else(|| text.clone());
                    params.push(to_value(value_type.take().as_deref(), &t)?);
                    text.clear();
                } else if in_value && value_type.as_deref() == Some(tag.as_str()) {
                    typed_text = Some(text.clone());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_call {
        return Err(ParseError::Shape("no methodCall"));
    }
    if !stack.is_empty() {
        return Err(ParseError::Shape("unclosed elements"));
    }
    let name = name.ok_or(ParseError::Shape("no methodName"))?;
    Ok(MethodCall { name, params })
}

fn to_value(kind: Option<&str>, text: &str) -> Result<Value, ParseError> {
    let bad = |_| ParseError::Shape("bad scalar value");
    Ok(match kind {
        None | Some("string") => Value::Str(text.to_string()),
        Some("int") | Some("i4") => Value::Int(text.trim().parse().map_err(bad)?),
        Some("i8") => Value::I8(text.trim().parse().map_err(bad)?),
        Some("boolean") => match text.trim() {
            "1" | "true" => Value::Bool(true),
            "0" | "false" => Value::Bool(false),
            _ => return Err(ParseError::Shape("bad boolean")),
        },
        Some("double") => Value::Double(
            text.trim()
                .parse()
                .map_err(|_| ParseError::Shape("bad double"))?,
        ),
        Some(_) => Value::Other,
    })
}

/// The result value of a successful call.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A string (a document, a version, a token).
    Str(String),
    /// An `<i4>`.
    Int(i64),
}

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n";
const TAIL: &str = "</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n";

/// `[true, value, 0]`.
pub fn success(value: &Reply) -> String {
    let extra = match value {
        Reply::Str(s) => s.len() + s.len() / 2,
        Reply::Int(_) => 16,
    };
    let mut out = String::with_capacity(HEAD.len() + TAIL.len() + 96 + extra);
    match value {
        Reply::Str(s) => {
            out.push_str(&success_string_head());
            escape_into(&mut out, s);
            out.push_str(&success_string_tail());
        }
        Reply::Int(i) => {
            out.push_str(HEAD);
            out.push_str("<value><boolean>1</boolean></value>\r\n<value><i4>");
            out.push_str(&i.to_string());
            out.push_str("</i4></value>\r\n<value><i4>0</i4></value>\r\n");
            out.push_str(TAIL);
        }
    }
    out
}

/// What `success` writes before an (escaped) string value: a big reply writes its escaped
/// document right after it, into one buffer (see [`crate::xml::Doc::escaped`]).
pub fn success_string_head() -> String {
    format!("{HEAD}<value><boolean>1</boolean></value>\r\n<value><string>")
}

/// What `success` writes after a string value.
pub fn success_string_tail() -> String {
    format!("</string></value>\r\n<value><i4>0</i4></value>\r\n{TAIL}")
}

/// `[false, message, code, index3, i8 -1]`.
pub fn failure(message: &str, code: i32, index3: i64) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(HEAD);
    out.push_str("<value><boolean>0</boolean></value>\r\n<value><string>");
    escape_into(&mut out, message);
    out.push_str("</string></value>\r\n<value><i4>");
    out.push_str(&code.to_string());
    out.push_str("</i4></value>\r\n<value><i4>");
    out.push_str(&index3.to_string());
    out.push_str("</i4></value>\r\n<value><i8>-1</i8></value>\r\n");
    out.push_str(TAIL);
    out
}

/// An XML-RPC `<fault>`.
pub fn fault(f: &Fault) -> String {
    let mut out = String::with_capacity(400);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<fault>\r\n<value><struct>\r\n<member><name>faultCode</name>\r\n<value><i4>");
    out.push_str(&f.code.to_string());
    out.push_str("</i4></value></member>\r\n<member><name>faultString</name>\r\n<value><string>");
    escape_into(&mut out, &f.message);
    out.push_str(
        "</string></value></member>\r\n</struct></value>\r\n</fault>\r\n</methodResponse>\r\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_python_request() {
        let body = b"<?xml version='1.0'?>\n<methodCall>\n<methodName>one.vm.info</methodName>\n<params>\n<param>\n<value><string>alice:alice</string></value>\n</param>\n<param>\n<value><int>0</int></value>\n</param>\n<param>\n<value><boolean>0</boolean></value>\n</param>\n</params>\n</methodCall>\n";
        let c = parse_call(body).expect("parses");
        assert_eq!(c.name, "one.vm.info");
        assert_eq!(
            c.params,
            vec![
                Value::Str("alice:alice".into()),
                Value::Int(0),
                Value::Bool(false)
            ]
        );
    }

    #[test]
    fn bare_text_i4_i8_entities_and_empty_values() {
        let body = b"<methodCall><methodName>m</methodName><params><param><value>a&amp;b&#65;</value></param><param><value><i4>-3</i4></value></param><param><value><i8>7</i8></value></param><param><value/></param><param><value><string/></value></param><param><value><array><data><value><i4>1</i4></value></data></array></value></param></params></methodCall>";
        let c = parse_call(body).expect("parses");
        assert_eq!(
            c.params,
            vec![
                Value::Str("a&bA".into()),
                Value::Int(-3),
                Value::I8(7),
                Value::Str(String::new()),
                Value::Str(String::new()),
                Value::Other
            ]
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_call(b"hello").is_err());
        assert!(parse_call(b"<a><b></a>").is_err());
        assert!(parse_call(b"<methodCall><params/></methodCall>").is_err());
        assert!(parse_call(b"<methodCall><methodName>m</methodName><params><param><value><int>x</int></value></param></params></methodCall>").is_err());
    }

    #[test]
    fn params_faults() {
        let v = [Value::Str("s".into()), Value::I8(1)];
        let p = Params(&v);
        assert_eq!(p.int(1), Err(Fault::wrong_type("integer")));
        assert_eq!(p.int(2), Err(Fault::not_enough()));
        assert_eq!(p.opt_int(2, -1), Ok(-1));
        assert_eq!(p.string(0), Ok("s"));
        assert_eq!(
            Fault::wrong_type("integer").message,
            "Parameter that is supposed to be integer is not"
        );
    }

    #[test]
    fn writes_oned_envelopes() {
        let ok = success(&Reply::Int(0));
        assert_eq!(
            ok,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n<value><boolean>1</boolean></value>\r\n<value><i4>0</i4></value>\r\n<value><i4>0</i4></value>\r\n</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n"
        );
        let err = failure("[one.vm.info] Error getting virtual machine [9].", 1024, 9);
        assert!(err.contains("<value><i4>1024</i4></value>\r\n<value><i4>9</i4></value>\r\n<value><i8>-1</i8></value>\r\n"));
        let f = fault(&Fault::unknown_method("one.x"));
        assert!(
            f.contains("<value><string>Method 'one.x' not defined</string></value></member>\r\n")
        );
    }
}
