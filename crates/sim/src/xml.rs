//! The simulator's own XML writer: compact documents the way oned's serialisers write them.
//!
//! oned writes documents on one line, without declaration or namespace, with CDATA for template
//! values and plain text for object fields. This writer offers exactly those forms and nothing
//! more, so every element in a document is written on purpose (API.md §1.6).

use std::fmt::Write as _;

/// A compact XML document being written.
#[derive(Debug, Default)]
pub struct Doc {
    buf: String,
}

impl Doc {
    /// A new, empty document with room for `cap` bytes.
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            buf: String::with_capacity(cap),
        }
    }

    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `<name>text</name>` with the text escaped (`<X></X>` when empty).
    pub fn text(&mut self, name: &str, value: &str) {
        self.open(name);
        escape_into(&mut self.buf, value);
        self.close(name);
    }

    /// `<name>number</name>`.
    pub fn num(&mut self, name: &str, value: impl std::fmt::Display) {
        self.open(name);
        let _ = write!(self.buf, "{value}");
        self.close(name);
    }

    /// `<name><![CDATA[value]]></name>`; a `]]>` inside is split as XML requires.
    pub fn cdata(&mut self, name: &str, value: &str) {
        self.open(name);
        self.buf.push_str("<![CDATA[");
        self.buf.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
        self.buf.push_str("]]>");
        self.close(name);
    }

    /// `<name></name>`, oned's usual empty element.
    pub fn empty(&mut self, name: &str) {
        self.open(name);
        self.close(name);
    }

    /// `<name/>`, only where oned writes it literally so.
    pub fn self_closing(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str("/>");
    }

    /// The document written so far.
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// The finished document.
    pub fn into_string(self) -> String {
        self.buf
    }
}

/// Escapes `<`, `>`, `&` (and CR) the way oned's serialisers and xmlrpc-c do; quotes stay.
pub fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'\r' => "&#13;",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Formats a quota figure as oned does: two decimals when not whole, none when whole.
pub fn quota_number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_xmlrpc_c() {
        let mut s = String::new();
        escape_into(&mut s, "a<b>&\"c\"\r");
        assert_eq!(s, "a&lt;b&gt;&amp;\"c\"&#13;");
    }

    #[test]
    fn cdata_and_empty_forms() {
        let mut d = Doc::default();
        d.open("A");
        d.cdata("B", "");
        d.empty("C");
        d.self_closing("D");
        d.cdata("E", "x]]>y");
        d.close("A");
        assert_eq!(
            d.as_str(),
            "<A><B><![CDATA[]]></B><C></C><D/><E><![CDATA[x]]]]><![CDATA[>y]]></E></A>"
        );
    }

    #[test]
    fn quota_numbers() {
        assert_eq!(quota_number(1.4), "1.40");
        assert_eq!(quota_number(896.0), "896");
        assert_eq!(quota_number(-1.0), "-1");
        assert_eq!(quota_number(0.8), "0.80");
    }
}
