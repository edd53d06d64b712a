//! Linux only: the target-to-client payload moves with splice(2) through a pipe, from the
//! target's socket to the client's, without being copied into the relay's memory. Only the
//! WebSocket frame header (2–10 bytes) is written from user space, with `MSG_MORE` so that it
//! leaves in the same segment as its payload. Client-to-target data cannot take this path: client
//! frames are masked and must be unmasked in user space.

use std::{io, os::fd::OwnedFd};

use rustix::{
    net::{SendFlags, send},
    pipe::{PipeFlags, SpliceFlags, fcntl_getpipe_size, fcntl_setpipe_size, pipe_with, splice},
};
use tokio::{io::Interest, net::TcpStream};

/// What the relay asks the pipe to hold: one frame of up to this many bytes. Bigger frames mean
/// fewer wake-ups per byte; the default 64 KiB pipe capped downstream near 1 GB/s here. The
/// memory is the kernel's (references to the socket's pages, not copies), bounded per session,
/// and counted against `fs.pipe-user-pages-soft` (64 MiB per user by default: 256 busy consoles).
pub const PIPE_BYTES: usize = 256 * 1024;

/// A non-blocking pipe that holds at most one frame's payload at a time.
pub(crate) struct Pipe {
    r: OwnedFd,
    w: OwnedFd,
    capacity: usize,
}

impl Pipe {
    pub fn new() -> io::Result<Self> {
        let (r, w) = pipe_with(PipeFlags::NONBLOCK | PipeFlags::CLOEXEC)?;
        // Over the user's pipe quota the kernel refuses to grow it: keep the size it has.
        let capacity = match fcntl_setpipe_size(&w, PIPE_BYTES) {
            Ok(n) => n,
            Err(_) => fcntl_getpipe_size(&w)?,
        };
        Ok(Self {
            r,
            w,
            capacity: capacity.min(PIPE_BYTES),
        })
    }

    /// How many bytes one fill may move.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Moves up to `max` bytes from `from` into the pipe, which must be empty (so that EAGAIN can
    /// only mean "socket not readable"). `Ok(0)` is EOF. Cancel-safe: the splice happens within
    /// the poll that returns its result.
    pub async fn fill(&self, from: &TcpStream, max: usize) -> io::Result<usize> {
        loop {
            from.readable().await?;
            let r = from.try_io(Interest::READABLE, || {
                splice(
                    from,
                    None,
                    &self.w,
                    None,
                    max,
                    SpliceFlags::NONBLOCK | SpliceFlags::MOVE,
                )
                .map_err(io::Error::from)
            });
            match r {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }

    /// Sends `header`, then the `n` bytes waiting in the pipe, to `to`.
    pub async fn drain(&self, to: &TcpStream, header: &[u8], n: usize) -> io::Result<()> {
        let mut sent = 0;
        while sent < header.len() {
            to.writable().await?;
            let r = to.try_io(Interest::WRITABLE, || {
                send(to, &header[sent..], SendFlags::MORE | SendFlags::NOSIGNAL)
                    .map_err(io::Error::from)
            });
            match r {
                Ok(k) => sent += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        let mut left = n;
        while left > 0 {
            to.writable().await?;
            let r = to.try_io(Interest::WRITABLE, || {
                splice(
                    &self.r,
                    None,
                    to,
                    None,
                    left,
                    SpliceFlags::NONBLOCK | SpliceFlags::MOVE,
                )
                .map_err(io::Error::from)
            });
            match r {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "client socket took no bytes",
                    ));
                }
                Ok(k) => left -= k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
