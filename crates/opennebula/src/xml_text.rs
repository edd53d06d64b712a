//! XML text unescaping for the pull cursor: the five predefined entities and character
//! references, nothing else (no DTD can declare an entity, see the cursor's module docs).

use std::borrow::Cow;

/// Unescapes XML text: the five predefined entities and character references, in one pass with
/// one allocation (none when there is nothing to unescape). Any other entity is an error.
pub(crate) fn unescape(raw: &str) -> Result<Cow<'_, str>, String> {
    if memchr::memchr(b'&', raw.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(raw));
    }
    unescape_into(raw, String::with_capacity(raw.len())).map(Cow::Owned)
}

/// [`unescape`], appending to `out` (which the caller may have sized for more text).
pub(crate) fn unescape_into(raw: &str, mut out: String) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let Some(first) = memchr::memchr(b'&', bytes) else {
        out.push_str(raw);
        return Ok(out);
    };
    let mut last = 0;
    let mut at = first;
    loop {
        // `&` is ASCII, so `at` and `last` are character boundaries: no re-validation needed.
        out.push_str(&raw[last..at]);
        let rest = &bytes[at + 1..];
        let (ch, len) = match rest {
            [b'l', b't', b';', ..] => ('<', 3),
            [b'g', b't', b';', ..] => ('>', 3),
            [b'a', b'm', b'p', b';', ..] => ('&', 4),
            [b'q', b'u', b'o', b't', b';', ..] => ('"', 5),
            [b'a', b'p', b'o', b's', b';', ..] => ('\'', 5),
            [b'#', ..] => {
                let num = &raw[at + 2..];
                let end = num
                    .find(';')
                    .filter(|e| *e <= 8)
                    .ok_or_else(|| format!("unterminated character reference at byte {at}"))?;
                let digits = &num[..end];
                let code = match digits.strip_prefix('x') {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => digits.parse::<u32>(),
                }
                .map_err(|_| format!("bad character reference &#{digits}; at byte {at}"))?;
                let ch = char::from_u32(code)
                    .filter(|c| *c != '\0')
                    .ok_or_else(|| format!("character reference &#{digits}; is not a character"))?;
                (ch, end + 2)
            }
            _ => {
                let name: String = raw[at + 1..]
                    .chars()
                    .take_while(|c| *c != ';')
                    .take(16)
                    .collect();
                return Err(format!("unknown entity &{name}; at byte {at}"));
            }
        };
        out.push(ch);
        last = at + 1 + len;
        // In an escaped document the next `&` is usually a few bytes away (`&lt;ID&gt;1&lt;`):
        // look there byte by byte before paying for a vectorised search of the rest.
        let near = &bytes[last..bytes.len().min(last + 16)];
        at = match near.iter().position(|b| *b == b'&') {
            Some(i) => last + i,
            None => match memchr::memchr(b'&', &bytes[last + near.len()..]) {
                Some(i) => last + near.len() + i,
                None => break,
            },
        };
    }
    out.push_str(&raw[last..]);
    Ok(out)
}
