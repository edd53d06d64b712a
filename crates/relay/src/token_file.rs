//! websockify's TokenFile format, for the headless relay: one `TOKEN: HOST:PORT` per line, `#`
//! comments and blank lines ignored. Tokens from a file are reusable and never expire, so this is
//! for trusted local use only (benchmarks, interop tests), never for the app.

use std::path::Path;

use crate::{Error, Result, StaticToken, Target};

/// Parses a token file's text; `path` is only used in error messages.
///
/// # Errors
/// [`Error::TokenFile`] naming the first bad line.
pub fn parse_token_file(path: &Path, text: &str) -> Result<Vec<StaticToken>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let bad = |message: &str| Error::TokenFile {
            path: path.to_owned(),
            line: i + 1,
            message: message.to_owned(),
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (token, target) = line
            .split_once(':')
            .ok_or_else(|| bad("expected `TOKEN: HOST:PORT`"))?;
        let (token, target) = (token.trim(), target.trim());
        if token.is_empty() {
            return Err(bad("empty token"));
        }
        let (host, port) = if let Some(rest) = target.strip_prefix('[') {
            let (h, p) = rest
                .split_once("]:")
                .ok_or_else(|| bad("expected `[IPv6]:PORT`"))?;
            (h, p)
        } else {
            target
                .rsplit_once(':')
                .ok_or_else(|| bad("expected `HOST:PORT` after the token"))?
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad("empty or malformed host"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| bad("port is not a number from 1 to 65535"))?;
        if port == 0 {
            return Err(bad("port is not a number from 1 to 65535"));
        }
        out.push(StaticToken {
            token: token.to_owned(),
            target: Target::new(host, port),
        });
    }
    Ok(out)
}

/// Reads and parses a token file.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::TokenFile`] for a bad line.
pub fn read_token_file(path: &Path) -> Result<Vec<StaticToken>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_token_file(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_websockify_lines() -> Result<()> {
        let text =
            "# comment\n\nrb-down: 127.0.0.1:42467\nrb-up:127.0.0.1:41291\n  v6: [::1]:5900  \n";
        let t = parse_token_file(Path::new("f"), text)?;
        let got: Vec<_> = t
            .iter()
            .map(|s| (s.token.as_str(), s.target.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("rb-down", "127.0.0.1:42467".into()),
                ("rb-up", "127.0.0.1:41291".into()),
                ("v6", "[::1]:5900".into())
            ]
        );
        Ok(())
    }

    #[test]
    fn names_the_bad_line() {
        for (text, line) in [
            ("ok: h:1\nnocolon\n", 2),
            ("a: h:0\n", 1),
            ("a: h:99999\n", 1),
            (": h:1\n", 1),
            ("a: hostonly\n", 1),
            ("a: :5\n", 1),
        ] {
            match parse_token_file(Path::new("f"), text) {
                Err(Error::TokenFile { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }
}
