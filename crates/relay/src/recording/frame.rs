//! The screen at a moment of a recording: from the last keyframe before it (or ServerInit), the
//! server's updates decoded up to that moment.

use std::{path::Path, time::Duration};

use super::index::chunk_index;
use super::reader::{Record, RecordingReader};
use crate::rfb::{Screen, ServerDecoder};
use crate::{Error, Result};

/// The screen as the viewer showed it `at` after the session started (the last screen when the
/// recording is shorter).
///
/// # Errors
/// As [`RecordingReader::open`] and its records; [`Error::RecordingScreen`] when the recording
/// holds no screen by then or uses what cannot be decoded (a recording of format 2 made with
/// Tight or ZRLE, for instance).
pub fn screen_at(path: impl AsRef<Path>, at: Duration) -> Result<Screen> {
    let path = path.as_ref();
    let index = chunk_index(path)?;
    let mut reader = match index.iter().rev().find(|c| c.keyframe && c.first <= at) {
        Some(chunk) => RecordingReader::open_at(path, chunk)?,
        None => RecordingReader::open(path)?,
    };
    let fail = |why: String| Error::RecordingScreen {
        path: path.to_owned(),
        at_ms: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
        why,
    };
    let mut decoder: Option<ServerDecoder> = None;
    while let Some(record) = reader.next_record()? {
        if record.at() > at {
            break;
        }
        match record {
            Record::ServerInit { bytes, .. } => {
                decoder = Some(ServerDecoder::new(
                    Screen::from_server_init(&bytes).map_err(fail)?,
                ));
            }
            Record::Keyframe { init, update, .. } => {
                let mut d = ServerDecoder::new(Screen::from_server_init(&init).map_err(fail)?);
                d.feed(&update, false);
                decoder = Some(d);
            }
            Record::PixelFormat { format, .. } => {
                if let Some(d) = decoder.as_mut() {
                    d.set_pixel_format(&format);
                }
            }
            Record::Server { bytes, .. } => {
                if let Some(d) = decoder.as_mut() {
                    d.feed(&bytes, false);
                }
            }
            _ => {}
        }
        if let Some(why) = decoder.as_ref().and_then(ServerDecoder::broken) {
            return Err(fail(why.to_owned()));
        }
    }
    match decoder {
        Some(d) => Ok(d.screen().clone()),
        None => Err(fail(
            "the session had no screen yet (its handshake was still on)".into(),
        )),
    }
}
