//! A template's `USER_INPUTS`: the questions asked when a VM is instantiated from it, and the
//! rules a typed answer must meet before it is sent.
//!
//! Each input is written `NAME = "M|type|description|params|default"` (OpenNebula's template
//! guide, "User Inputs"): `M` mandatory or `O` optional; `params` is `min..max` for ranges and a
//! comma-separated list for lists. The answers travel in `one.template.instantiate`'s extra
//! template as top-level `NAME="value"` attributes, which the template's `CONTEXT` refers to as
//! `$NAME`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The kind of field an input asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserInputType {
    /// Free text.
    Text,
    /// Free text, sent base64-encoded.
    Text64,
    /// A password (not echoed).
    Password,
    /// An integer.
    Number,
    /// A decimal number.
    NumberFloat,
    /// An integer between `min` and `max`.
    Range,
    /// A decimal number between `min` and `max`.
    RangeFloat,
    /// One of `options`.
    List,
    /// Several of `options`, comma-separated.
    ListMultiple,
    /// `YES` or `NO`.
    Boolean,
    /// A value the user cannot change (sent as the default).
    Fixed,
}

impl UserInputType {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.trim().to_ascii_lowercase().as_str() {
            "text" => Self::Text,
            "text64" => Self::Text64,
            "password" => Self::Password,
            "number" => Self::Number,
            "number-float" => Self::NumberFloat,
            "range" => Self::Range,
            "range-float" => Self::RangeFloat,
            "list" => Self::List,
            "list-multiple" => Self::ListMultiple,
            "boolean" => Self::Boolean,
            "fixed" => Self::Fixed,
            _ => return None,
        })
    }
}

/// One question of `USER_INPUTS`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInput {
    /// The attribute name (`ROOT_PASSWORD`).
    pub name: String,
    /// The field type.
    #[serde(rename = "type")]
    pub input_type: UserInputType,
    /// True when an answer is required (`M`).
    pub mandatory: bool,
    /// The question as the template's author wrote it.
    pub description: String,
    /// Lower bound of a range.
    pub min: Option<f64>,
    /// Upper bound of a range.
    pub max: Option<f64>,
    /// The choices of a list.
    pub options: Vec<String>,
    /// The default answer (never kept for passwords).
    pub default: Option<String>,
}

/// Why a typed answer is refused.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase", tag = "problem")]
pub enum InputProblem {
    /// A mandatory input was left empty.
    #[error("a value is required")]
    Required,
    /// Not a number.
    #[error("not a number")]
    NotANumber,
    /// Not a whole number.
    #[error("not a whole number")]
    NotAnInteger,
    /// Outside the range.
    #[error("must be between {min} and {max}")]
    OutOfRange {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// Not one of the offered choices.
    #[error("not one of the offered choices")]
    NotOffered,
    /// A boolean that is neither YES nor NO.
    #[error("must be YES or NO")]
    NotBoolean,
    /// Longer than oned would take in a template value.
    #[error("longer than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The template has no input of that name.
    #[error("the template asks for no such input")]
    Unknown,
}

/// An answer refused, with the input's name.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{name}: {problem}")]
pub struct InputError {
    /// The input's name.
    pub name: String,
    /// Why.
    #[serde(flatten)]
    pub problem: InputProblem,
}

/// A single value longer than this is refused: no sane answer is, and it keeps requests small.
pub const MAX_VALUE_LEN: usize = 64 * 1024;

impl UserInput {
    /// Parses one `NAME = "M|type|description|params|default"` entry; `None` for a form this
    /// version does not know (such an input is left for oned to default, never guessed at).
    pub fn parse(name: &str, spec: &str) -> Option<Self> {
        let mut parts = spec.splitn(5, '|');
        let mandatory = match parts.next()?.trim() {
            "M" | "m" => true,
            "O" | "o" => false,
            _ => return None,
        };
        let input_type = UserInputType::parse(parts.next()?)?;
        let description = parts.next().unwrap_or("").trim().to_owned();
        let params = parts.next().unwrap_or("").trim();
        let default = parts
            .next()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        let mut input = Self {
            name: name.to_owned(),
            input_type,
            mandatory,
            description,
            min: None,
            max: None,
            options: Vec::new(),
            default,
        };
        match input_type {
            UserInputType::Range | UserInputType::RangeFloat => {
                let (lo, hi) = params.split_once("..")?;
                input.min = Some(lo.trim().parse().ok()?);
                input.max = Some(hi.trim().parse().ok()?);
            }
            UserInputType::List | UserInputType::ListMultiple => {
                input.options = params
                    .split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            UserInputType::Password => input.default = None,
            _ => {}
        }
        Some(input)
    }

    /// Parses a template's `USER_INPUTS` entries, in `INPUTS_ORDER` when the template gives
    /// one (the rest after, by name, as oned sorts attributes).
    pub fn parse_all(entries: &[(String, String)], order: Option<&str>) -> Vec<Self> {
        let mut inputs: Vec<Self> = entries
            .iter()
            .filter_map(|(name, spec)| Self::parse(name, spec))
            .collect();
        let rank: Vec<&str> = order
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        inputs.sort_by_key(|i| {
            (
                rank.iter().position(|n| *n == i.name).unwrap_or(usize::MAX),
                i.name.clone(),
            )
        });
        inputs
    }

    /// Checks one answer and returns the value to send, `None` for an optional input left
    /// empty. A `fixed` input always sends its default.
    ///
    /// # Errors
    /// [`InputProblem`] saying what is wrong with `value`.
    pub fn check(&self, value: Option<&str>) -> Result<Option<String>, InputProblem> {
        if self.input_type == UserInputType::Fixed {
            return Ok(self.default.clone());
        }
        let value = value.unwrap_or("");
        if value.len() > MAX_VALUE_LEN {
            return Err(InputProblem::TooLong { max: MAX_VALUE_LEN });
        }
        // Passwords and text keep their spaces: they may matter.
        let trimmed = match self.input_type {
            UserInputType::Password | UserInputType::Text | UserInputType::Text64 => value,
            _ => value.trim(),
        };
        if trimmed.is_empty() {
            return if self.mandatory {
                Err(InputProblem::Required)
            } else {
                Ok(None)
            };
        }
        let number = || trimmed.parse::<f64>().ok().filter(|n| n.is_finite());
        let in_range = |n: f64| match (self.min, self.max) {
            (Some(min), Some(max)) if n < min || n > max => {
                Err(InputProblem::OutOfRange { min, max })
            }
            _ => Ok(()),
        };
        match self.input_type {
            UserInputType::Number => {
                trimmed.parse::<i64>().map_err(|_| match number() {
                    Some(_) => InputProblem::NotAnInteger,
                    None => InputProblem::NotANumber,
                })?;
            }
            UserInputType::NumberFloat => {
                number().ok_or(InputProblem::NotANumber)?;
            }
            UserInputType::Range => {
                let n = trimmed.parse::<i64>().map_err(|_| match number() {
                    Some(_) => InputProblem::NotAnInteger,
                    None => InputProblem::NotANumber,
                })?;
                in_range(n as f64)?;
            }
            UserInputType::RangeFloat => {
                in_range(number().ok_or(InputProblem::NotANumber)?)?;
            }
            UserInputType::List => {
                if !self.options.iter().any(|o| o == trimmed) {
                    return Err(InputProblem::NotOffered);
                }
            }
            UserInputType::ListMultiple => {
                let picked: Vec<&str> = trimmed.split(',').map(str::trim).collect();
                if picked.iter().any(|p| !self.options.iter().any(|o| o == p)) {
                    return Err(InputProblem::NotOffered);
                }
                return Ok(Some(picked.join(",")));
            }
            UserInputType::Boolean => {
                let upper = trimmed.to_ascii_uppercase();
                if upper != "YES" && upper != "NO" {
                    return Err(InputProblem::NotBoolean);
                }
                return Ok(Some(upper));
            }
            UserInputType::Text64 => return Ok(Some(base64(trimmed.as_bytes()))),
            UserInputType::Text | UserInputType::Password | UserInputType::Fixed => {}
        }
        Ok(Some(trimmed.to_owned()))
    }
}

/// Checks every answer against the template's inputs and returns the extra-template lines
/// (`NAME="value"`) to send. An answer to an input the template does not ask is refused.
///
/// # Errors
/// The first refused answer, in input order.
pub fn answers_to_template(
    inputs: &[UserInput],
    answers: &BTreeMap<String, String>,
) -> Result<String, InputError> {
    if let Some(unknown) = answers
        .keys()
        .find(|k| !inputs.iter().any(|i| &i.name == *k))
    {
        return Err(InputError {
            name: unknown.clone(),
            problem: InputProblem::Unknown,
        });
    }
    let mut lines = Vec::new();
    for input in inputs {
        let value = input
            .check(answers.get(&input.name).map(String::as_str))
            .map_err(|problem| InputError {
                name: input.name.clone(),
                problem,
            })?;
        if let Some(value) = value {
            lines.push(format!("{}=\"{}\"", input.name, quote(&value)));
        }
    }
    Ok(lines.join("\n"))
}

/// Escapes a value for a double-quoted template string (oned's template lexer takes `\"` and
/// `\\`).
pub fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, spec: &str) -> UserInput {
        UserInput::parse(name, spec).expect("a valid spec")
    }

    #[test]
    fn parses_every_type_with_params_and_defaults() {
        let r = input("CORES", "M|range|Cores|1..8|2");
        assert_eq!(r.input_type, UserInputType::Range);
        assert!(r.mandatory);
        assert_eq!((r.min, r.max), (Some(1.0), Some(8.0)));
        assert_eq!(r.default.as_deref(), Some("2"));
        let l = input("SIZE", "O|list|Size|small, medium,large|medium");
        assert_eq!(l.options, ["small", "medium", "large"]);
        assert!(!l.mandatory);
        let p = input("ROOT_PASSWORD", "M|password|Root password||hunter2");
        assert_eq!(p.default, None, "a password's default is never kept");
        let f = input("RF", "O|range-float|Ratio|0.5..1.5|1.0");
        assert_eq!((f.min, f.max), (Some(0.5), Some(1.5)));
        assert_eq!(
            input("B", "O|boolean|Enable?||YES").input_type,
            UserInputType::Boolean
        );
        assert_eq!(input("X", "O|fixed|Fixed||v").default.as_deref(), Some("v"));
        assert_eq!(input("N", "M|number-float|N").default, None);
        assert_eq!(
            input("T", "O|text64|Script").input_type,
            UserInputType::Text64
        );
        assert!(
            UserInput::parse("Q", "M|colour|What").is_none(),
            "unknown type"
        );
        assert!(
            UserInput::parse("Q", "X|text|What").is_none(),
            "neither M nor O"
        );
        assert!(
            UserInput::parse("Q", "M|range|What|1-8").is_none(),
            "range without .."
        );
    }

    #[test]
    fn order_follows_inputs_order_then_name() {
        let entries = vec![
            ("A".to_owned(), "O|text|a".to_owned()),
            ("B".to_owned(), "O|text|b".to_owned()),
            ("C".to_owned(), "O|text|c".to_owned()),
        ];
        let names: Vec<String> = UserInput::parse_all(&entries, Some("C, A"))
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, ["C", "A", "B"]);
    }

    #[test]
    fn each_rule_refuses_what_it_should() {
        let num = input("N", "M|number|N");
        assert_eq!(num.check(Some("abc")), Err(InputProblem::NotANumber));
        assert_eq!(num.check(Some("1.5")), Err(InputProblem::NotAnInteger));
        assert_eq!(num.check(Some(" 42 ")), Ok(Some("42".into())));
        assert_eq!(num.check(Some("")), Err(InputProblem::Required));
        let range = input("R", "M|range|R|1..8|2");
        assert_eq!(
            range.check(Some("9")),
            Err(InputProblem::OutOfRange { min: 1.0, max: 8.0 })
        );
        assert_eq!(range.check(Some("8")), Ok(Some("8".into())));
        let rf = input("F", "O|range-float|F|0.5..1.5");
        assert_eq!(rf.check(Some("1.25")), Ok(Some("1.25".into())));
        assert!(matches!(
            rf.check(Some("2")),
            Err(InputProblem::OutOfRange { .. })
        ));
        assert_eq!(rf.check(Some("NaN")), Err(InputProblem::NotANumber));
        assert_eq!(rf.check(None), Ok(None), "optional and empty: left out");
        let list = input("L", "M|list|L|a,b");
        assert_eq!(list.check(Some("c")), Err(InputProblem::NotOffered));
        assert_eq!(list.check(Some("b")), Ok(Some("b".into())));
        let multi = input("LM", "O|list-multiple|LM|a,b,c");
        assert_eq!(multi.check(Some("a, c")), Ok(Some("a,c".into())));
        assert_eq!(multi.check(Some("a,d")), Err(InputProblem::NotOffered));
        let b = input("B", "O|boolean|B");
        assert_eq!(b.check(Some("yes")), Ok(Some("YES".into())));
        assert_eq!(b.check(Some("maybe")), Err(InputProblem::NotBoolean));
        let fixed = input("X", "O|fixed|X||v");
        assert_eq!(fixed.check(Some("other")), Ok(Some("v".into())));
        let text = input("T", "M|text|T");
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        assert!(matches!(
            text.check(Some(&long)),
            Err(InputProblem::TooLong { .. })
        ));
    }

    #[test]
    fn answers_become_quoted_template_lines() {
        let inputs = vec![
            input("NAME", "M|text|Name"),
            input("SCRIPT", "O|text64|Script"),
            input("OPT", "O|text|Optional"),
        ];
        let mut answers = BTreeMap::new();
        answers.insert("NAME".to_owned(), "say \"hi\" \\o/".to_owned());
        answers.insert("SCRIPT".to_owned(), "echo hi".to_owned());
        let text = answers_to_template(&inputs, &answers).expect("valid answers");
        assert_eq!(
            text,
            "NAME=\"say \\\"hi\\\" \\\\o/\"\nSCRIPT=\"ZWNobyBoaQ==\""
        );
        answers.insert("EVIL".to_owned(), "x".to_owned());
        let e = answers_to_template(&inputs, &answers).expect_err("an unknown input");
        assert_eq!(e.name, "EVIL");
        assert_eq!(e.problem, InputProblem::Unknown);
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }
}
