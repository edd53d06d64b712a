//! The two pumps of a session: target → client (framed in place, spliced on Linux once the RFB
//! handshake has been watched) and client → target (frames parsed and unmasked in place, written
//! with vectored writes). Both feed the session's RFB watch and, when recording, the recorder.

use std::{io::IoSlice, sync::atomic::Ordering, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::tcp::{ReadHalf, WriteHalf},
    sync::mpsc,
    time::{Instant, MissedTickBehavior},
};

use super::{CLOSE_WRITE_TIMEOUT, EndReason, INITIAL_BUFFER, MAX_BUFFER, SessionShared};
use crate::{
    frame::{self, MAX_CONTROL_PAYLOAD, MAX_SERVER_HEADER},
    input::{ClientPart, InputWatch, ServerPart},
    recording::Recorder,
};

/// What the upstream pump asks the downstream pump to send to the client.
#[derive(Debug)]
pub(super) enum Control {
    Pong([u8; MAX_CONTROL_PAYLOAD], u8),
    Close(EndReason, u16),
}

/// Target → client: read into the buffer behind a reserved header gap, frame in place, one write.
pub(super) async fn pump_down(
    mut target: ReadHalf<'_>,
    mut client: WriteHalf<'_>,
    mut ctrl: mpsc::Receiver<Control>,
    shared: &SessionShared,
    rec: Option<&Recorder>,
    watch: &InputWatch,
    keepalive: Duration,
) -> EndReason {
    let mut buf = vec![0u8; MAX_SERVER_HEADER + INITIAL_BUFFER];
    let mut small = [0u8; 2 + MAX_CONTROL_PAYLOAD];
    let mut ping = tokio::time::interval_at(Instant::now() + keepalive, keepalive);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut peak = 0usize;
    loop {
        let read = tokio::select! {
            biased;
            c = ctrl.recv() => match control(&mut client, &mut small, c).await {
                Ok(()) => continue,
                Err(reason) => return reason,
            },
            _ = ping.tick() => {
                let n = frame::control_frame(&mut small, frame::OP_PING, b"");
                if client.write_all(&small[..n]).await.is_err() {
                    return EndReason::ClientVanished;
                }
                continue;
            }
            r = target.read(&mut buf[MAX_SERVER_HEADER..]) => r,
        };
        let n = match bytes_from_target(read, &mut client, &mut small).await {
            Ok(n) => n,
            Err(reason) => return reason,
        };
        if n > peak {
            peak = n;
            shared.peak_to_client.fetch_max(n, Ordering::Relaxed);
        }
        let bytes = &buf[MAX_SERVER_HEADER..MAX_SERVER_HEADER + n];
        let part = watch.server(bytes);
        if let Some(rec) = rec {
            match part {
                ServerPart::Handshake => {}
                ServerPart::Init { init, from } => {
                    rec.server_init(&init).await;
                    rec.server(&bytes[from..]).await;
                }
                ServerPart::Messages => rec.server(bytes).await,
            }
        }
        let start = frame::put_server_header(&mut buf, MAX_SERVER_HEADER, frame::OP_BINARY, n);
        if client
            .write_all(&buf[start..MAX_SERVER_HEADER + n])
            .await
            .is_err()
        {
            return EndReason::ClientVanished;
        }
        shared.to_client.fetch_add(n as u64, Ordering::Relaxed);
        if MAX_SERVER_HEADER + n == buf.len() {
            // A full read: this session moves bulk data (a framebuffer update). Spliced bytes
            // bypass the relay, so only once the RFB handshake has been watched.
            #[cfg(target_os = "linux")]
            if rec.is_none() && watch.server_settled() {
                match crate::zero_copy::Pipe::new() {
                    Ok(pipe) => {
                        drop(buf);
                        return pump_down_spliced(target, client, ctrl, shared, ping, pipe, peak)
                            .await;
                    }
                    Err(e) => tracing::debug!(error = %e, "no pipe for splice; copying"),
                }
            }
            if buf.len() < MAX_SERVER_HEADER + MAX_BUFFER {
                buf.resize(MAX_SERVER_HEADER + MAX_BUFFER, 0);
            }
        }
    }
}

/// Sends what the upstream pump asked for; `Err` ends the downstream pump with that reason.
async fn control(
    client: &mut WriteHalf<'_>,
    small: &mut [u8; 2 + MAX_CONTROL_PAYLOAD],
    c: Option<Control>,
) -> Result<(), EndReason> {
    let (n, end) = match c {
        Some(Control::Pong(payload, len)) => (
            frame::control_frame(small, frame::OP_PONG, &payload[..usize::from(len)]),
            None,
        ),
        Some(Control::Close(reason, echo_code)) => {
            let (code, text) = reason.close_frame().unwrap_or((echo_code, ""));
            (frame::close_frame(small, code, text), Some(reason))
        }
        // The upstream pump ended without a Close to send: the client is gone.
        None => return Err(EndReason::ClientVanished),
    };
    if client.write_all(&small[..n]).await.is_err() {
        return Err(EndReason::ClientVanished);
    }
    match end {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// The downstream pump once a session moves bulk data, on Linux: payload bytes go from socket
/// to pipe to socket inside the kernel (see `zero_copy`). At most one frame (`PIPE_BYTES`) sits in the
/// pipe; it is drained completely before the next read, so backpressure works as in the copy path.
#[cfg(target_os = "linux")]
async fn pump_down_spliced(
    target: ReadHalf<'_>,
    mut client: WriteHalf<'_>,
    mut ctrl: mpsc::Receiver<Control>,
    shared: &SessionShared,
    mut ping: tokio::time::Interval,
    pipe: crate::zero_copy::Pipe,
    mut peak: usize,
) -> EndReason {
    let mut small = [0u8; 2 + MAX_CONTROL_PAYLOAD];
    let mut header = [0u8; MAX_SERVER_HEADER];
    let capacity = pipe.capacity();
    loop {
        let filled = tokio::select! {
            biased;
            c = ctrl.recv() => match control(&mut client, &mut small, c).await {
                Ok(()) => continue,
                Err(reason) => return reason,
            },
            _ = ping.tick() => {
                let n = frame::control_frame(&mut small, frame::OP_PING, b"");
                if client.write_all(&small[..n]).await.is_err() {
                    return EndReason::ClientVanished;
                }
                continue;
            }
            r = pipe.fill(target.as_ref(), capacity) => r,
        };
        let n = match bytes_from_target(filled, &mut client, &mut small).await {
            Ok(n) => n,
            Err(reason) => return reason,
        };
        if n > peak {
            peak = n;
            shared.peak_to_client.fetch_max(n, Ordering::Relaxed);
        }
        let start = frame::put_server_header(&mut header, MAX_SERVER_HEADER, frame::OP_BINARY, n);
        if pipe
            .drain(client.as_ref(), &header[start..], n)
            .await
            .is_err()
        {
            return EndReason::ClientVanished;
        }
        shared.to_client.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// The byte count of a read from the target, or, at its EOF or failure, the end reason, after
/// telling the client with a Close frame.
async fn bytes_from_target(
    read: std::io::Result<usize>,
    client: &mut WriteHalf<'_>,
    small: &mut [u8; 2 + MAX_CONTROL_PAYLOAD],
) -> Result<usize, EndReason> {
    let reason = match read {
        Ok(0) => EndReason::TargetClosed,
        Ok(n) => return Ok(n),
        Err(e) => EndReason::TargetLost {
            error: e.to_string(),
        },
    };
    write_close(client, small, &reason).await;
    Err(reason)
}

async fn write_close(
    client: &mut WriteHalf<'_>,
    small: &mut [u8; 2 + MAX_CONTROL_PAYLOAD],
    reason: &EndReason,
) {
    if let Some((code, text)) = reason.close_frame() {
        let n = frame::close_frame(small, code, text);
        let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, client.write_all(&small[..n])).await;
    }
}

enum UpState {
    Header,
    Data {
        remaining: u64,
        mask: [u8; 4],
        offset: u64,
    },
    Control {
        opcode: u8,
        len: usize,
        mask: [u8; 4],
    },
}

/// Hands what the person did to the recorder (and, once, why the observer gave up).
async fn record_inputs(rec: &Recorder, inputs: &mut ClientPart, watch: &InputWatch) {
    for event in inputs.events.drain(..) {
        rec.event(event).await;
    }
    for (len, text) in inputs.cut_texts.drain(..) {
        rec.cut_text(len, &text).await;
    }
    if let Some(pf) = inputs.pixel_format.take() {
        rec.pixel_format(pf).await;
    }
    if let Some(why) = watch.opaque_reason() {
        rec.note_once(&why).await;
    }
}

/// Payload ranges gathered from one read before they are written with one vectored write.
const MAX_RANGES: usize = 16;

async fn write_all_vectored(
    target: &mut WriteHalf<'_>,
    mut bufs: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    while !bufs.is_empty() {
        let n = target.write_vectored(bufs).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut bufs, n);
    }
    Ok(())
}

/// Client → target: parse frames in the buffer, unmask payloads in place and write them on.
pub(super) async fn pump_up(
    mut client: ReadHalf<'_>,
    mut target: WriteHalf<'_>,
    ctrl: mpsc::Sender<Control>,
    shared: &SessionShared,
    rec: Option<&Recorder>,
    watch: &InputWatch,
    idle_timeout: Duration,
) -> EndReason {
    let mut buf = vec![0u8; INITIAL_BUFFER];
    let (mut start, mut end) = (0usize, 0usize);
    let mut state = UpState::Header;
    let mut in_message = false;
    let mut last_rx = Instant::now();
    let idle = tokio::time::sleep(idle_timeout);
    tokio::pin!(idle);
    let mut peak = 0usize;
    let mut inputs = ClientPart::default();
    // Ends the session from this side, asking the downstream pump to send the Close.
    macro_rules! finish {
        ($reason:expr, $echo:expr) => {{
            let reason = $reason;
            // Bounded: a client that reads nothing must not pin this pump forever.
            let close = ctrl.send(Control::Close(reason.clone(), $echo));
            let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, close).await;
            return reason;
        }};
    }
    let mut pending = [(0usize, 0usize); MAX_RANGES];
    let mut npend = 0usize;
    // Writes the queued payload ranges to the target.
    macro_rules! flush {
        () => {{
            if npend > 0 {
                let count = std::mem::replace(&mut npend, 0);
                let mut slices = [IoSlice::new(&[]); MAX_RANGES];
                let mut total = 0;
                for (slice, &(a, b)) in slices.iter_mut().zip(&pending[..count]) {
                    *slice = IoSlice::new(&buf[a..b]);
                    total += b - a;
                }
                let written = write_all_vectored(&mut target, &mut slices[..count]).await;
                if let Err(e) = written {
                    finish!(
                        EndReason::TargetLost {
                            error: e.to_string()
                        },
                        1011
                    );
                }
                shared.to_target.fetch_add(total as u64, Ordering::Relaxed);
            }
        }};
    }
    loop {
        loop {
            match state {
                UpState::Header => match frame::parse_client_header(&buf[start..end]) {
                    Err(e) => finish!(
                        EndReason::ProtocolError {
                            detail: e.reason().to_owned()
                        },
                        1002
                    ),
                    Ok(None) => break,
                    Ok(Some((h, used))) => {
                        start += used;
                        match h.opcode {
                            frame::OP_BINARY | frame::OP_CONTINUATION => {
                                if (h.opcode == frame::OP_CONTINUATION) != in_message {
                                    let detail = if in_message {
                                        "expected a continuation frame"
                                    } else {
                                        "unexpected continuation frame"
                                    };
                                    finish!(
                                        EndReason::ProtocolError {
                                            detail: detail.to_owned()
                                        },
                                        1002
                                    );
                                }
                                in_message = !h.fin;
                                if h.len > 0 {
                                    state = UpState::Data {
                                        remaining: h.len,
                                        mask: h.mask,
                                        offset: 0,
                                    };
                                }
                            }
                            frame::OP_TEXT => finish!(EndReason::UnsupportedData, 1003),
                            opcode => {
                                let len = usize::try_from(h.len).unwrap_or(usize::MAX);
                                state = UpState::Control {
                                    opcode,
                                    len,
                                    mask: h.mask,
                                };
                            }
                        }
                    }
                },
                UpState::Data {
                    remaining,
                    mask,
                    offset,
                } => {
                    let avail = (end - start).min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    if avail == 0 {
                        break;
                    }
                    let chunk = &mut buf[start..start + avail];
                    frame::unmask(chunk, mask, offset);
                    match rec {
                        Some(rec) => {
                            watch.client(chunk, Some(&mut inputs));
                            record_inputs(rec, &mut inputs, watch).await;
                        }
                        None => watch.client(chunk, None),
                    }
                    // Queue the range; one vectored write per buffer instead of one per frame
                    // (a 64 KiB message straddles reads, which otherwise costs a tiny write).
                    match npend.checked_sub(1).map(|i| &mut pending[i]) {
                        Some(last) if last.1 == start => last.1 = start + avail,
                        _ => {
                            pending[npend] = (start, start + avail);
                            npend += 1;
                        }
                    }
                    if npend == MAX_RANGES {
                        flush!();
                    }
                    start += avail;
                    let remaining = remaining - avail as u64;
                    state = if remaining == 0 {
                        UpState::Header
                    } else {
                        UpState::Data {
                            remaining,
                            mask,
                            offset: offset + avail as u64,
                        }
                    };
                }
                UpState::Control { opcode, len, mask } => {
                    if end - start < len {
                        break;
                    }
                    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
                    payload[..len].copy_from_slice(&buf[start..start + len]);
                    frame::unmask(&mut payload[..len], mask, 0);
                    start += len;
                    state = UpState::Header;
                    match opcode {
                        frame::OP_PING => {
                            // At most 4 answers queue up; a ping flood just gets fewer pongs.
                            let _ = ctrl.try_send(Control::Pong(payload, len as u8));
                        }
                        frame::OP_CLOSE => {
                            if len == 1 {
                                finish!(
                                    EndReason::ProtocolError {
                                        detail: "close frame of 1 byte".to_owned()
                                    },
                                    1002
                                );
                            }
                            let code = if len >= 2 {
                                u16::from_be_bytes([payload[0], payload[1]])
                            } else {
                                1005
                            };
                            // Half-close: the target sees EOF and may still answer, but a
                            // WebSocket cannot carry data after its Close, so the session ends.
                            flush!();
                            let _ = target.shutdown().await;
                            // Echo the client's code when it is one a peer may send; otherwise a plain 1000.
                            let echo = if matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999) {
                                code
                            } else {
                                1000
                            };
                            let close =
                                ctrl.send(Control::Close(EndReason::ClientClosed { code }, echo));
                            let _ = tokio::time::timeout(CLOSE_WRITE_TIMEOUT, close).await;
                            return EndReason::ClientClosed { code };
                        }
                        _ => {} // pong: proof of life, already counted by the read
                    }
                }
            }
        }
        flush!();
        // Only a partial header or control frame can be left over (at most
        // MAX_CLIENT_HEADER + MAX_CONTROL_PAYLOAD = 139 bytes).
        if start == end {
            start = 0;
            end = 0;
        } else if start > 0 {
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        if end == buf.len() && buf.len() < MAX_BUFFER {
            buf.resize(MAX_BUFFER, 0);
        }
        let read = tokio::select! {
            biased;
            r = client.read(&mut buf[end..]) => r,
            _ = &mut idle => {
                if last_rx.elapsed() >= idle_timeout {
                    finish!(EndReason::ClientTimeout, 1001);
                }
                idle.as_mut().reset(last_rx + idle_timeout);
                continue;
            }
        };
        match read {
            Ok(0) | Err(_) => {
                let _ = target.shutdown().await;
                return EndReason::ClientVanished;
            }
            Ok(n) => {
                end += n;
                last_rx = Instant::now();
                if end > peak {
                    peak = end;
                    shared.peak_to_target.fetch_max(end, Ordering::Relaxed);
                }
            }
        }
    }
}
