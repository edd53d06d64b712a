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
    /// Write the document already escaped for an XML-RPC `<string>` (see [`Doc::escaped`]).
    escaped: bool,
}

impl Doc {
    /// A new, empty document with room for `cap` bytes.
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            buf: String::with_capacity(cap),
            escaped: false,
        }
    }

    /// A document written straight in its escaped form, as it goes into the `<string>` of a
    /// reply: the text is exactly `escape_into` of the plain document, without writing the plain
    /// one first and escaping it in a second pass (which took half the time of a big pool).
    pub fn escaped(cap: usize) -> Self {
        Self {
            buf: String::with_capacity(cap),
            escaped: true,
        }
    }

    /// Appends `text` as it is: the reply envelope around an escaped document.
    pub fn raw(&mut self, text: &str) {
        self.buf.push_str(text);
    }

    /// `<` of markup, or its escaped form.
    fn lt(&mut self) {
        self.buf.push_str(if self.escaped { "&lt;" } else { "<" });
    }

    /// `>` of markup, or its escaped form.
    fn gt(&mut self) {
        self.buf.push_str(if self.escaped { "&gt;" } else { ">" });
    }

    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) {
        self.lt();
        self.buf.push_str(name);
        self.gt();
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) {
        self.lt();
        self.buf.push('/');
        self.buf.push_str(name);
        self.gt();
    }

    /// `<name>text</name>` with the text escaped (`<X></X>` when empty).
    pub fn text(&mut self, name: &str, value: &str) {
        self.open(name);
        if self.escaped {
            escape_twice_into(&mut self.buf, value);
        } else {
            escape_into(&mut self.buf, value);
        }
        self.close(name);
    }

    /// `<name>number</name>`.
    pub fn num(&mut self, name: &str, value: impl std::fmt::Display) {
        self.open(name);
        let at = self.buf.len();
        let _ = write!(self.buf, "{value}");
        // Numbers need no escaping; anything else shown here is written as the plain form had it.
        if self.escaped
            && self.buf[at..]
                .bytes()
                .any(|b| matches!(b, b'<' | b'>' | b'&' | b'\r'))
        {
            let raw = self.buf.split_off(at);
            escape_into(&mut self.buf, &raw);
        }
        self.close(name);
    }

    /// `<name><![CDATA[value]]></name>`; a `]]>` inside is split as XML requires.
    pub fn cdata(&mut self, name: &str, value: &str) {
        self.open(name);
        self.lt();
        self.buf.push_str("![CDATA[");
        // Copy the value as it is unless it must be split (a `replace` would allocate each time).
        let split;
        let value = if value.contains("]]>") {
            split = value.replace("]]>", "]]]]><![CDATA[>");
            split.as_str()
        } else {
            value
        };
        if self.escaped {
            escape_into(&mut self.buf, value);
        } else {
            self.buf.push_str(value);
        }
        self.buf.push_str("]]");
        self.gt();
        self.close(name);
    }

    /// `<name></name>`, oned's usual empty element.
    pub fn empty(&mut self, name: &str) {
        self.open(name);
        self.close(name);
    }

    /// `<name/>`, only where oned writes it literally so.
    pub fn self_closing(&mut self, name: &str) {
        self.lt();
        self.buf.push_str(name);
        self.buf.push('/');
        self.gt();
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
    escape_with(out, s, ["&lt;", "&gt;", "&amp;", "&#13;"]);
}

/// `escape_into` applied twice: text of a document that is itself escaped into a reply.
fn escape_twice_into(out: &mut String, s: &str) {
    escape_with(out, s, ["&amp;lt;", "&amp;gt;", "&amp;amp;", "&amp;#13;"]);
}

/// Replaces `<`, `>`, `&` and CR with the four given strings. Runs between them are copied
/// whole; the byte test is a table lookup, since the text of a document is mostly plain.
fn escape_with(out: &mut String, s: &str, reps: [&str; 4]) {
    const SPECIAL: [bool; 256] = {
        let mut t = [false; 256];
        t[b'<' as usize] = true;
        t[b'>' as usize] = true;
        t[b'&' as usize] = true;
        t[b'\r' as usize] = true;
        t
    };
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !SPECIAL[usize::from(b)] {
            continue;
        }
        let rep = match b {
            b'<' => reps[0],
            b'>' => reps[1],
            b'&' => reps[2],
            _ => reps[3],
        };
        // The special bytes are ASCII, so `start` and `i` are character boundaries.
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
    fn an_escaped_doc_is_the_plain_doc_escaped() {
        let write = |d: &mut Doc| {
            d.open("A");
            d.text("T", "a<b>&c\r\"");
            d.num("N", -12);
            d.cdata("C", "x]]>y<&>");
            d.cdata("E", "");
            d.empty("M");
            d.self_closing("S");
            d.close("A");
        };
        let mut plain = Doc::default();
        write(&mut plain);
        let mut escaped = Doc::escaped(0);
        write(&mut escaped);
        let mut expected = String::new();
        escape_into(&mut expected, plain.as_str());
        assert_eq!(escaped.as_str(), expected);
    }

    #[test]
    fn quota_numbers() {
        assert_eq!(quota_number(1.4), "1.40");
        assert_eq!(quota_number(896.0), "896");
        assert_eq!(quota_number(-1.0), "-1");
        assert_eq!(quota_number(0.8), "0.80");
    }
}
