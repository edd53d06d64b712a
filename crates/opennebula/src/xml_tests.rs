//! Tests of the pull cursor and the error locations.
use super::*;

#[test]
fn line_and_column_count_characters() {
    let doc = "<A>\n  <B>é x</B>\n</A>";
    let off = doc.find('x').unwrap_or(0);
    assert_eq!(line_column(doc, off), (2, 8));
}

#[test]
fn path_names_repeated_siblings() {
    let doc = "<P><V><ID>1</ID></V><V><ID>2</ID><T><CPU>x</CPU></T></V></P>";
    let off = doc.find('x').unwrap_or(0);
    assert_eq!(path_at(doc, off), "P/V[2]/T/CPU");
}

#[test]
fn doctype_is_refused_before_any_entity() {
    let doc = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;">]><VM>&lol1;</VM>"#;
    let mut c = Cursor::new(doc);
    let err = c.root("VM").err().map(|f| f.reason).unwrap_or_default();
    assert!(err.contains("DOCTYPE"), "{err}");
}

#[test]
fn text_joins_cdata_and_references() {
    let doc = "<A>x &amp; <![CDATA[<y>]]>&#65;</A>";
    let mut c = Cursor::new(doc);
    let root = c.root("A").map_err(|f| f.reason);
    let text = root.and_then(|r| c.text(&r).map(|t| t.into_owned()).map_err(|f| f.reason));
    assert_eq!(text.as_deref(), Ok("x & <y>A"));
}

#[test]
fn unescape_handles_every_predefined_entity_and_char_refs() {
    assert_eq!(unescape("plain").ok(), Some(Cow::Borrowed("plain")));
    assert_eq!(
        unescape("&lt;a&gt; &amp;&quot;&apos;&#13;&#x41;").as_deref(),
        Ok("<a> &\"'\rA")
    );
    assert!(unescape("&lol9;").is_err_and(|e| e.contains("unknown entity &lol9;")));
    assert!(unescape("&#0;").is_err());
    assert!(unescape("&#12345678901;").is_err());
    assert!(unescape("&amp").is_err());
}

#[test]
fn raw_text_skips_to_the_end_tag_and_keeps_positions() {
    let doc = "<a><string>x &amp; y</string><b>1</b></a>";
    let mut c = Cursor::new(doc);
    let mut run = || -> Result<(String, String, usize), Fail> {
        let root = c.root("a")?;
        let s = c
            .next_child(&root)?
            .ok_or_else(|| Fail::new(0, "no string"))?;
        let raw = c.raw_text(&s)?.to_owned();
        let b = c.next_child(&root)?.ok_or_else(|| Fail::new(0, "no b"))?;
        let at = b.offset;
        let text = c.text(&b)?.into_owned();
        Ok((raw, text, at))
    };
    let got = run().map_err(|f| f.reason);
    assert_eq!(
        got,
        Ok((
            "x &amp; y".to_owned(),
            "1".to_owned(),
            doc.find("<b>").unwrap_or(0)
        ))
    );
}

#[test]
fn leaves_read_fast_or_slow_give_the_same_text() {
    let doc = "<A><X>plain</X><Y><![CDATA[a <b> & c]]></Y><Z>x &amp; y</Z><W></W><V> </V></A>";
    let mut c = Cursor::new(doc);
    let mut texts = Vec::new();
    let mut run = || -> Result<(), Fail> {
        let root = c.root("A")?;
        while let Some(el) = c.next_child(&root)? {
            texts.push(c.text(&el)?.into_owned());
        }
        c.finish()
    };
    assert!(run().is_ok());
    assert_eq!(texts, ["plain", "a <b> & c", "x & y", "", " "]);
}

#[test]
fn odd_tags_take_the_general_path_and_read_the_same() {
    // Attributes, a space before `>`, a comment and whitespace are left to quick-xml;
    // plain tags are read by `tag_fast`. Offsets must stay right for either.
    let doc = "<A>\n <X a=\"1\">t</X ><Y/> <!-- c --><Z><W>1</W></Z><V />\n</A>";
    let mut c = Cursor::new(doc);
    let mut seen = Vec::new();
    let mut run = || -> Result<(), Fail> {
        let root = c.root("A")?;
        while let Some(el) = c.next_child(&root)? {
            let at = &doc[el.offset..el.offset + 2];
            let text = if el.name() == "Z" {
                let w = c.next_child(&el)?.ok_or_else(|| Fail::new(0, "no W"))?;
                let t = c.text(&w)?.into_owned();
                if c.next_child(&el)?.is_some() {
                    return Err(Fail::new(0, "more in Z"));
                }
                t
            } else {
                c.text(&el)?.into_owned()
            };
            seen.push((el.name().to_owned(), at.to_owned(), text));
        }
        c.finish()
    };
    assert!(run().is_ok());
    let want = [
        ("X", "<X", "t"),
        ("Y", "<Y", ""),
        ("Z", "<Z", "1"),
        ("V", "<V", ""),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect();
    assert_eq!(seen, want);
}

#[test]
fn mismatched_end_tags_are_errors() {
    for doc in [
        "<A><X>1</Y></A>",
        "<A><X><Y>1</Y></Z></A>",
        "<A><X>1</X></B>",
    ] {
        let mut c = Cursor::new(doc);
        let mut run = || -> Result<(), Fail> {
            let root = c.root("A")?;
            while let Some(el) = c.next_child(&root)? {
                if el.name() == "X" && doc.contains("<Y>") {
                    c.skip(&el)?;
                } else {
                    c.text(&el)?;
                }
            }
            c.finish()
        };
        let err = run().err().map(|f| f.reason).unwrap_or_default();
        assert!(
            err.contains("does not close") || err.contains("well-formed"),
            "{doc}: {err:?}"
        );
    }
}

#[test]
fn unknown_entity_is_an_error() {
    let mut c = Cursor::new("<A>&foo;</A>");
    let r = c.root("A").map_err(|f| f.reason);
    let text = r.and_then(|r| c.text(&r).map(|t| t.into_owned()).map_err(|f| f.reason));
    assert!(text.is_err_and(|e| e.contains("unknown entity")));
}
