//! A small pull cursor over quick-xml for the documents oned writes, and the mapping of a failure
//! offset to an element path and line/column.
//!
//! Decoders walk the document element by element without building a tree (a 10,000-VM pool stays
//! a few allocations per VM). Positions are tracked only as byte offsets; the path and the
//! line/column are recomputed from the offset when, and only when, something fails.
//!
//! Security: a DOCTYPE is rejected as soon as it is seen, so no entity is ever declared, let alone
//! expanded ("billion laughs"); only the five predefined entities and character references are
//! resolved.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::{BytesEnd, BytesStart, Event};

use crate::error::DecodeError;

// Text unescaping (entities and character references) lives beside this file.
#[path = "xml_text.rs"]
mod text;
pub(crate) use text::{unescape, unescape_into};

/// A failure inside a document: where (byte offset) and why. Turned into a [`DecodeError`] by
/// [`Fail::locate`].
#[derive(Debug, Clone)]
pub(crate) struct Fail {
    pub(crate) offset: usize,
    pub(crate) reason: String,
}

impl Fail {
    pub(crate) fn new(offset: usize, reason: impl Into<String>) -> Self {
        Self {
            offset,
            reason: reason.into(),
        }
    }

    /// Computes the element path and line/column of the failure inside `doc`.
    pub(crate) fn locate(self, document: &str, doc: &str) -> DecodeError {
        let offset = self.offset.min(doc.len());
        let (line, column) = line_column(doc, offset);
        DecodeError {
            document: document.to_owned(),
            path: path_at(doc, offset),
            line,
            column,
            reason: self.reason,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(doc: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(doc.len());
    while !doc.is_char_boundary(end) {
        end -= 1;
    }
    let before = &doc[..end];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The path of elements open at `offset`, with `[n]` (1-based) for repeated siblings.
pub(crate) fn path_at(doc: &str, offset: usize) -> String {
    // Each frame: the open element's label and the names of its children seen so far.
    let mut stack: Vec<(String, Vec<(String, usize)>)> = Vec::new();
    let mut root_children: Vec<(String, usize)> = Vec::new();
    let mut reader = Reader::from_str(doc);
    reader.config_mut().check_end_names = false;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        if before > offset {
            break;
        }
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) if before <= offset => {
                let name = e.name().0.to_owned();
                let siblings = stack.last_mut().map_or(&mut root_children, |f| &mut f.1);
                let n = match siblings.iter_mut().find(|(s, _)| *s == name) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        siblings.push((name.clone(), 1));
                        1
                    }
                };
                let label = if n > 1 { format!("{name}[{n}]") } else { name };
                let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
                // An empty element only counts when the offset falls inside its tag.
                let is_empty = doc.as_bytes().get(after.saturating_sub(2)) == Some(&b'/');
                if !is_empty || offset < after {
                    stack.push((label, Vec::new()));
                    if is_empty {
                        break;
                    }
                }
            }
            Ok(Event::End(_)) => {
                let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
                if after > offset {
                    break;
                }
                stack.pop();
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    stack
        .into_iter()
        .map(|(label, _)| label)
        .collect::<Vec<_>>()
        .join("/")
}

/// An element the cursor stopped at: its start tag, whether it is `<X/>`, and where it began.
pub(crate) struct El<'a> {
    pub(crate) start: BytesStart<'a>,
    pub(crate) empty: bool,
    pub(crate) offset: usize,
}

impl<'a> El<'a> {
    /// The element a `Start` (`empty: false`) or `Empty` (`empty: true`) event read at `offset`.
    #[inline]
    fn at(start: BytesStart<'a>, empty: bool, offset: usize) -> Self {
        Self {
            start,
            empty,
            offset,
        }
    }

    /// The element's name.
    pub(crate) fn name(&self) -> &str {
        self.start.name().0
    }
}

/// A pull cursor over one XML document held in memory.
pub(crate) struct Cursor<'a> {
    reader: Reader<&'a [u8]>,
    doc: &'a str,
    /// Bytes the cursor read itself, past the reader (the fast paths of [`Cursor::raw_text`],
    /// `tag_fast` and `leaf_fast`); the reader's own positions do not count them.
    skipped: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(doc: &'a str) -> Self {
        let mut reader = Reader::from_str(doc);
        let config = reader.config_mut();
        // The cursor checks every end tag against the element it closes itself (`check_end`),
        // which lets `text` read a leaf without quick-xml's stack of open names.
        config.check_end_names = false;
        // `tag_fast` reads most tags without quick-xml, so its own stack of open elements does
        // not match the document; end tags are checked here instead (`check_end`).
        config.allow_unmatched_ends = true;
        config.expand_empty_elements = false;
        Self {
            reader,
            doc,
            skipped: 0,
        }
    }

    pub(crate) fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).map_or(usize::MAX, |p| p + self.skipped)
    }

    /// Where quick-xml saw the last error; it reports 0 for errors at the end of the input
    /// (a truncated document), where the current position is the better answer.
    fn error_offset(&self) -> usize {
        let at = self.reader.error_position();
        let at = if at == 0 {
            self.reader.buffer_position()
        } else {
            at
        };
        usize::try_from(at).map_or(usize::MAX, |p| p + self.skipped)
    }

    fn read(&mut self) -> Result<Event<'a>, Fail> {
        let ev = self
            .reader
            .read_event()
            .map_err(|e| Fail::new(self.error_offset(), format!("not well-formed XML: {e}")))?;
        if let Event::DocType(_) = ev {
            return Err(Fail::new(
                self.position(),
                "DOCTYPE declarations are not allowed (entity expansion is refused)",
            ));
        }
        Ok(ev)
    }

    fn check_end(e: &BytesEnd<'_>, name: &str, offset: usize) -> Result<(), Fail> {
        let found = e.name().0;
        if found == name {
            Ok(())
        } else {
            Err(Fail::new(
                offset,
                format!("end tag </{found}> does not close <{name}>"),
            ))
        }
    }

    /// Reads the prolog and returns the root element, which must be named `root`.
    pub(crate) fn root(&mut self, root: &str) -> Result<El<'a>, Fail> {
        loop {
            let offset = self.position();
            match self.read()? {
                Event::Start(start) => {
                    return self.check_root(El::at(start, false, offset), root);
                }
                Event::Empty(start) => {
                    return self.check_root(El::at(start, true, offset), root);
                }
                Event::Text(t) if t.trim_ascii().is_empty() => {}
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => {
                    return Err(Fail::new(
                        offset,
                        format!("empty document, expected <{root}>"),
                    ));
                }
                _ => {
                    return Err(Fail::new(
                        offset,
                        format!("text before the root element, expected <{root}>"),
                    ));
                }
            }
        }
    }

    fn check_root(&self, el: El<'a>, root: &str) -> Result<El<'a>, Fail> {
        if el.name() == root {
            Ok(el)
        } else {
            let found = el.name().to_owned();
            Err(Fail::new(
                el.offset,
                format!("expected a <{root}> document, found <{found}>"),
            ))
        }
    }

    /// After the root element: only whitespace, comments and processing instructions may follow.
    pub(crate) fn finish(&mut self) -> Result<(), Fail> {
        loop {
            let offset = self.position();
            match self.read()? {
                Event::Eof => return Ok(()),
                Event::Text(t) if t.trim_ascii().is_empty() => {}
                Event::Comment(_) | Event::PI(_) => {}
                _ => return Err(Fail::new(offset, "content after the root element")),
            }
        }
    }

    /// The next child element of `parent`, or `None` at the parent's end tag. Text between
    /// elements is ignored; `parent` must not be empty (callers check `El::empty`).
    pub(crate) fn next_child(&mut self, parent: &El<'_>) -> Result<Option<El<'a>>, Fail> {
        if parent.empty {
            return Ok(None);
        }
        if let Some(next) = self.tag_fast(parent.name()) {
            return Ok(next);
        }
        loop {
            let offset = self.position();
            match self.read()? {
                Event::Start(start) => {
                    return Ok(Some(El::at(start, false, offset)));
                }
                Event::Empty(start) => {
                    return Ok(Some(El::at(start, true, offset)));
                }
                Event::End(e) => return Self::check_end(&e, parent.name(), offset).map(|()| None),
                Event::Eof => {
                    let name = parent.name().to_owned();
                    return Err(Fail::new(
                        offset,
                        format!("document ends inside <{name}> (truncated?)"),
                    ));
                }
                _ => {}
            }
        }
    }

    /// The common tags, `<NAME>`, `<NAME/>` and the parent's `</NAME>` (after optional
    /// whitespace, which `next_child` ignores anyway), read straight from the document instead of
    /// through quick-xml: a pool is mostly such tags. Only plain ASCII names are taken; anything
    /// else (attributes, comments, `<!DOCTYPE`, a mismatched end tag, the end of the input) gives
    /// `None` without consuming anything, and the general path reads it as before.
    /// `Some(None)` is the parent's end tag.
    fn tag_fast(&mut self, parent: &str) -> Option<Option<El<'a>>> {
        let offset = self.position();
        let doc: &'a str = self.doc;
        // The reader must stand exactly at `offset` (it does between elements), or it would
        // lose track of where it is.
        if self.reader.get_ref().len() != doc.len().checked_sub(offset)? {
            return None;
        }
        let rest = doc.as_bytes().get(offset..)?;
        let ws = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let tag = &rest[ws..];
        let (next, len) = match tag {
            [b'<', b'/', name @ ..] => {
                let tail = name.strip_prefix(parent.as_bytes())?.strip_prefix(b">")?;
                (None, tag.len() - tail.len())
            }
            [b'<', first, more @ ..] if first.is_ascii_alphabetic() || *first == b'_' => {
                let name_len = 1 + more
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                    .count();
                let (empty, close) = match tag.get(1 + name_len..)? {
                    [b'>', ..] => (false, 1),
                    [b'/', b'>', ..] => (true, 2),
                    _ => return None,
                };
                let at = offset + ws;
                // ASCII bytes only, so these are character boundaries.
                let name = doc.get(at + 1..at + 1 + name_len)?;
                let start = BytesStart::from_content(name, name_len);
                (Some(El::at(start, empty, at)), 1 + name_len + close)
            }
            _ => return None,
        };
        self.advance(ws + len);
        Some(next)
    }

    /// Moves the reader past `n` bytes the cursor has read itself.
    fn advance(&mut self, n: usize) {
        let remaining: &mut &'a [u8] = self.reader.get_mut();
        *remaining = &remaining[n..];
        self.skipped += n;
    }

    /// The next top-level element of a run of sibling elements, or `None` at the end of input.
    pub(crate) fn next_top(&mut self) -> Result<Option<El<'a>>, Fail> {
        loop {
            let offset = self.position();
            match self.read()? {
                Event::Start(start) => {
                    return Ok(Some(El::at(start, false, offset)));
                }
                Event::Empty(start) => {
                    return Ok(Some(El::at(start, true, offset)));
                }
                Event::Eof => return Ok(None),
                Event::Text(t) if t.trim_ascii().is_empty() => {}
                Event::Comment(_) | Event::PI(_) => {}
                _ => return Err(Fail::new(offset, "unexpected content between elements")),
            }
        }
    }

    /// The next child element of `parent`, or `None` at its end tag; text met on the way is
    /// collected into `text` (for XML-RPC's untyped `<value>text</value>`).
    pub(crate) fn next_child_or_text(
        &mut self,
        parent: &El<'_>,
        text: &mut String,
    ) -> Result<Option<El<'a>>, Fail> {
        if parent.empty {
            return Ok(None);
        }
        loop {
            let offset = self.position();
            match self.read()? {
                Event::Start(start) => {
                    return Ok(Some(El::at(start, false, offset)));
                }
                Event::Empty(start) => {
                    return Ok(Some(El::at(start, true, offset)));
                }
                Event::End(e) => return Self::check_end(&e, parent.name(), offset).map(|()| None),
                Event::Text(t) => text.push_str(&t),
                Event::CData(c) => text.push_str(&c),
                Event::GeneralRef(r) => text.push_str(&resolve_ref(&r, offset)?),
                Event::Eof => {
                    let name = parent.name().to_owned();
                    return Err(Fail::new(
                        offset,
                        format!("document ends inside <{name}> (truncated?)"),
                    ));
                }
                _ => {}
            }
        }
    }

    /// The text content of a leaf element (text, CDATA and references joined), consuming its end.
    pub(crate) fn text(&mut self, el: &El<'_>) -> Result<Cow<'a, str>, Fail> {
        if el.empty {
            return Ok(Cow::Borrowed(""));
        }
        if let Some(text) = self.leaf_fast(el) {
            return Ok(Cow::Borrowed(text));
        }
        let mut acc: Option<Cow<'a, str>> = None;
        loop {
            let offset = self.position();
            let piece: Cow<'a, str> = match self.read()? {
                Event::Text(t) => t.into_inner(),
                Event::CData(c) => c.into_inner(),
                Event::GeneralRef(r) => Cow::Owned(resolve_ref(&r, offset)?),
                Event::End(e) => {
                    Self::check_end(&e, el.name(), offset)?;
                    return Ok(acc.unwrap_or(Cow::Borrowed("")));
                }
                Event::Start(s) | Event::Empty(s) => {
                    let name = el.name().to_owned();
                    let child = s.name().0.to_owned();
                    return Err(Fail::new(
                        offset,
                        format!("expected text in <{name}>, found element <{child}>"),
                    ));
                }
                Event::Eof => {
                    let name = el.name().to_owned();
                    return Err(Fail::new(
                        offset,
                        format!("document ends inside <{name}> (truncated?)"),
                    ));
                }
                _ => continue,
            };
            acc = Some(match acc {
                None => piece,
                Some(prev) => Cow::Owned(prev.into_owned() + &piece),
            });
        }
    }

    /// The common leaf, `<X>text</X>` or `<X><![CDATA[text]]></X>` with no reference in the text,
    /// read straight from the document instead of through two more parser events (most elements
    /// of oned's documents are such leaves). `None` means: take the general path.
    pub(crate) fn leaf_fast(&mut self, el: &El<'_>) -> Option<&'a str> {
        let offset = self.position();
        let consumed = usize::try_from(self.reader.buffer_position()).ok()?;
        let doc: &'a str = self.doc;
        let rest = doc.get(offset..)?;
        if self.reader.get_ref().len() != doc.len() - offset || consumed > offset {
            return None;
        }
        let (text, after) = if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            // CDATA values are short: a plain scan beats building a substring searcher per leaf.
            let end = memchr::memchr_iter(b']', cdata.as_bytes())
                .find(|i| cdata.as_bytes()[*i..].starts_with(b"]]>"))?;
            (&cdata[..end], &cdata[end + 3..])
        } else {
            let end = memchr::memchr2(b'<', b'&', rest.as_bytes())?;
            if rest.as_bytes()[end] == b'&' {
                return None;
            }
            (&rest[..end], &rest[end..])
        };
        let name = el.name();
        let tail = after
            .strip_prefix("</")?
            .strip_prefix(name)?
            .strip_prefix('>')?;
        self.advance(rest.len() - tail.len());
        Some(text)
    }

    /// Decodes every `name` child of `parent` with `decode`, in order, skipping other children
    /// (newer oned versions may add elements): the body of every pool document.
    pub(crate) fn children<T>(
        &mut self,
        parent: &El<'_>,
        name: &str,
        mut decode: impl FnMut(&mut Self, &El<'a>) -> Result<T, Fail>,
    ) -> Result<Vec<T>, Fail> {
        let mut items = Vec::new();
        while let Some(el) = self.next_child(parent)? {
            if el.name() == name {
                items.push(decode(self, &el)?);
            } else {
                self.skip(&el)?;
            }
        }
        Ok(items)
    }

    /// Skips an element and everything inside it.
    pub(crate) fn skip(&mut self, el: &El<'_>) -> Result<(), Fail> {
        if el.empty {
            return Ok(());
        }
        // Names of the elements opened inside `el`, to check their end tags.
        let mut open: Vec<String> = Vec::new();
        loop {
            let offset = self.position();
            match self.read()? {
                Event::Start(s) => open.push(s.name().0.to_owned()),
                Event::End(e) => match open.pop() {
                    Some(name) => Self::check_end(&e, &name, offset)?,
                    None => return Self::check_end(&e, el.name(), offset),
                },
                Event::Eof => {
                    let name = el.name().to_owned();
                    return Err(Fail::new(
                        offset,
                        format!("document ends inside <{name}> (truncated?)"),
                    ));
                }
                _ => {}
            }
        }
    }

    /// The raw, still-escaped content of an element (used for the envelope's big `<string>`).
    pub(crate) fn raw_text(&mut self, el: &El<'a>) -> Result<&'a str, Fail> {
        if el.empty {
            return Ok("");
        }
        let offset = self.position();
        // Fast path for a huge escaped `<string>`: escaped text holds no `<`, so the first `<` is
        // the end tag. Jump there instead of walking a million entity events; the reader then
        // reads the end tag itself, so nesting checks still hold.
        let consumed = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
        let rest = self.doc.get(offset..).unwrap_or("");
        let in_sync = self.reader.get_ref().len() == self.doc.len().saturating_sub(offset)
            && consumed <= offset;
        if in_sync && let Some(i) = memchr::memchr(b'<', rest.as_bytes()) {
            let after = &rest[i..];
            let name = el.name();
            if after.starts_with("</")
                && after[2..].starts_with(name)
                && after[2 + name.len()..]
                    .starts_with(|c: char| c == '>' || c.is_ascii_whitespace())
            {
                let remaining: &mut &'a [u8] = self.reader.get_mut();
                *remaining = &remaining[i..];
                self.skipped += i;
                // Consume the end tag, as `read_text` would.
                return match self.read()? {
                    Event::End(e) => Self::check_end(&e, name, offset + i).map(|()| &rest[..i]),
                    _ => Err(Fail::new(offset + i, format!("expected </{name}>"))),
                };
            }
        }
        let text = self.reader.read_text(el.start.name()).map_err(|e| {
            Fail::new(
                self.error_offset().max(offset),
                format!("not well-formed XML: {e}"),
            )
        })?;
        match text.into_inner() {
            Cow::Borrowed(s) => Ok(s),
            // A slice reader always borrows; anything else is a quick-xml change we must notice.
            Cow::Owned(_) => Err(Fail::new(offset, "internal: expected borrowed text")),
        }
    }
}

/// Resolves a reference: a character reference or one of the five predefined entities; any
/// other entity is an error (no DTD can declare one, see [`Cursor`]).
fn resolve_ref(r: &quick_xml::events::BytesRef<'_>, offset: usize) -> Result<String, Fail> {
    match r.resolve_char_ref() {
        Ok(Some(ch)) => Ok(ch.to_string()),
        Ok(None) => match quick_xml::escape::resolve_predefined_entity(r) {
            Some(s) => Ok(s.to_owned()),
            None => Err(Fail::new(offset, format!("unknown entity &{};", &**r))),
        },
        Err(e) => Err(Fail::new(offset, format!("bad character reference: {e}"))),
    }
}

/// Parses a leaf's text as a number, with an error naming the expected type.
pub(crate) fn parse_num<T: std::str::FromStr>(
    text: &str,
    el: &El<'_>,
    what: &str,
) -> Result<T, Fail> {
    text.trim().parse::<T>().map_err(|_| {
        let name = el.name().to_owned();
        Fail::new(
            el.offset,
            format!("<{name}> must be {what}, found {text:?}"),
        )
    })
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
