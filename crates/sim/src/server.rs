//! The running simulator: its listener, connections, clock and state file; the HTTP framing is
//! in `http.rs`.
//!
//! A small hand-written HTTP/1.1 loop rather than hyper: oned's Abyss server answers exactly one
//! request per connection with `Connection: close` and headers spelled `Content-type` /
//! `Content-length`, and a client must see those bytes; hyper normalises header names to
//! lower case and manages keep-alive itself. The loop is bounded (16 KiB of headers, 8 MiB of
//! body, 15 s to read a request, like oned's `TIMEOUT`) and tested below and in `tests/sim`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::config::SimConfig;
use crate::consoles::Consoles;
use crate::http::{HttpError, read_request, send};
use crate::methods::{self, Outcome};
use crate::world::{World, splitmix};
use crate::xmlrpc::{self, Reply};
use crate::{Error, Result};

/// Largest request head accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest request body accepted.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// Time allowed to read one request (oned's `TIMEOUT`).
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);
/// Connections served at once; more wait in the listen backlog (oned allows 15 by default;
/// the simulator is more generous for parallel tests).
pub const MAX_CONNECTIONS: usize = 64;

/// A fault the simulator injects instead of a normal reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Hold the connection without answering, then close it.
    Timeout,
    /// `HTTP/1.1 500 Internal Server Error`.
    Http500,
    /// A 200 reply whose XML is cut in half.
    Malformed,
}

/// The fault (if any) for request number `n` under `seed` and `rate`: reproducible.
pub fn fault_for(seed: u64, rate: f64, n: u64) -> Option<FaultKind> {
    if rate <= 0.0 {
        return None;
    }
    let r = splitmix(seed ^ n.wrapping_mul(0xa076_1d64_78bd_642f));
    let p = (r >> 11) as f64 / (1u64 << 53) as f64;
    if p >= rate {
        return None;
    }
    Some(match splitmix(r) % 3 {
        0 => FaultKind::Timeout,
        1 => FaultKind::Http500,
        _ => FaultKind::Malformed,
    })
}

struct Shared {
    world: Mutex<World>,
    consoles: Consoles,
    config: SimConfig,
    start: tokio::time::Instant,
    wake: Notify,
    requests: AtomicU64,
    dirty: AtomicBool,
    /// Threads waiting for the world's lock (see [`Shared::lock_after_others`]).
    waiting: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, World> {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        // A panic while holding the lock leaves the world usable; take it back.
        let guard = self.world.lock().unwrap_or_else(|p| p.into_inner());
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        guard
    }

    /// The lock again for the next part of a long job (a big pool, a chunk at a time). The
    /// standard mutex is not fair: a thread that unlocks and locks again at once keeps it, and
    /// a `one.vm.info` would wait for the whole pool. So threads already waiting go first
    /// (bounded, should they keep coming).
    fn lock_after_others(&self) -> MutexGuard<'_, World> {
        let deadline = std::time::Instant::now() + Duration::from_millis(20);
        while self.waiting.load(Ordering::Acquire) > 0 && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        self.lock()
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }
}

/// The simulator.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Builds the cloud (or loads `state_file`), binds the XML-RPC server and starts the clock.
    pub async fn start(config: SimConfig) -> Result<SimHandle> {
        config.validate()?;
        let world = match &config.state_file {
            Some(path) if path.exists() => {
                let bytes =
                    std::fs::read(path).map_err(|e| Error::State(path.clone(), e.to_string()))?;
                let mut w: World = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::State(path.clone(), e.to_string()))?;
                w.rebase_ports(config.vnc_base);
                w.after_load();
                w
            }
            _ => crate::fixture::build(&config),
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::Bind(config.listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Bind(config.listen, e))?;
        let shared = Arc::new(Shared {
            consoles: Consoles::new(config.vnc, config.max_consoles),
            world: Mutex::new(world),
            config,
            start: tokio::time::Instant::now(),
            wake: Notify::new(),
            requests: AtomicU64::new(0),
            dirty: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
        });
        {
            let mut w = shared.lock();
            shared.consoles.sync(&mut w);
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(listener, shared.clone(), stop_rx.clone()));
        tasks.spawn(clock_loop(shared.clone(), stop_rx.clone()));
        if shared.config.state_file.is_some() {
            tasks.spawn(save_loop(shared.clone(), stop_rx));
        }
        tracing::info!(%addr, "OpenNebula simulator listening");
        Ok(SimHandle {
            addr,
            shared,
            stop: stop_tx,
            tasks,
        })
    }
}

/// A running simulator.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl SimHandle {
    /// `http://127.0.0.1:PORT/RPC2`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}/RPC2", self.addr)
    }

    /// The XML-RPC server's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// STATE and LCM_STATE of a VM (inspection for tests and the CLI).
    pub fn vm_state(&self, id: u32) -> Option<(u32, u32)> {
        self.shared.lock().vms.get(&id).map(|v| (v.state, v.lcm))
    }

    /// GRAPHICS/PORT of a VM.
    pub fn vnc_port(&self, id: u32) -> Option<u16> {
        self.shared.lock().vms.get(&id).and_then(|v| v.vnc_port())
    }

    /// VMs with an open VNC server and their ports.
    pub fn open_consoles(&self) -> Vec<(u32, u16)> {
        self.shared.consoles.open_ports()
    }

    /// What was typed on a VM's built-in console (None without one).
    pub fn console_text(&self, id: u32) -> Option<String> {
        self.shared.consoles.screen(id).map(|s| s.typed())
    }

    /// Runs every state transition due now (after `tokio::time::advance` in tests).
    pub fn tick(&self) {
        tick(&self.shared);
    }

    /// Stops the HTTP server, every VNC server and QEMU child, and saves the state file.
    pub async fn shutdown(mut self) -> Result<()> {
        self.stop_all().await
    }

    async fn stop_all(&mut self) -> Result<()> {
        let _ = self.stop.send(true);
        self.shared.wake.notify_one();
        while self.tasks.join_next().await.is_some() {}
        self.shared.consoles.stop_all().await;
        save(&self.shared)
    }
}

impl Drop for SimHandle {
    /// A handle dropped without `shutdown` still stops everything (the JoinSet aborts the
    /// server tasks; consoles are closed here), so a demo cannot leak ports or QEMU processes.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.shared.consoles.abort_all();
    }
}

fn tick(shared: &Shared) -> Option<u64> {
    let mut w = shared.lock();
    if w.fire_due(shared.now_ms()) > 0 {
        shared.dirty.store(true, Ordering::Relaxed);
    }
    shared.consoles.sync(&mut w);
    w.next_due()
}

async fn clock_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let next = tick(&shared);
        let sleep = async {
            match next {
                Some(ms) => {
                    tokio::time::sleep_until(shared.start + Duration::from_millis(ms)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => {}
            _ = shared.wake.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

async fn save_loop(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {
                if shared.dirty.swap(false, Ordering::Relaxed)
                    && let Err(e) = save(&shared)
                {
                    tracing::warn!(error = %e, "cannot save the simulator state");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

fn save(shared: &Shared) -> Result<()> {
    let Some(path) = &shared.config.state_file else {
        return Ok(());
    };
    let json = {
        let w = shared.lock();
        serde_json::to_vec(&*w).map_err(|e| Error::State(path.clone(), e.to_string()))?
    };
    write_atomic(path, &json)
}

fn write_atomic(path: &PathBuf, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data).map_err(|e| Error::State(path.clone(), e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::State(path.clone(), e.to_string()))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let acquired = tokio::select! {
            p = slots.clone().acquire_owned() => p,
            _ = stop.changed() => break,
        };
        let Ok(permit) = acquired else { break };
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((sock, _)) => {
                        let shared = shared.clone();
                        let stop = stop.clone();
                        conns.spawn(async move {
                            connection(sock, shared, stop).await;
                            drop(permit);
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    conns.shutdown().await;
}

async fn connection(mut sock: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let embedded = shared
        .config
        .embedded
        .then(|| sock.local_addr().map(|a| a.port()).unwrap_or(0));
    let body = match tokio::time::timeout(READ_TIMEOUT, read_request(&mut sock, embedded)).await {
        Err(_) | Ok(Err(HttpError::Closed)) => return,
        Ok(Err(HttpError::Transitions(id))) => {
            let text: String = shared
                .lock()
                .vms
                .get(&id)
                .map(|vm| {
                    vm.transitions
                        .iter()
                        .map(|(st, lc)| format!("{st} {lc}\n"))
                        .collect()
                })
                .unwrap_or_default();
            send(&mut sock, "200 OK", text.as_bytes(), "text/plain").await;
            return;
        }
        Ok(Err(
            e @ (HttpError::ConsoleText(_)
            | HttpError::ConsoleKeys(_)
            | HttpError::ConsoleClipboard(_)),
        )) => {
            let (id, what) = match e {
                HttpError::ConsoleKeys(id) => (id, 1),
                HttpError::ConsoleClipboard(id) => (id, 2),
                HttpError::ConsoleText(id) => (id, 0),
                _ => return,
            };
            match shared.consoles.screen(id) {
                Some(screen) => {
                    let body = match what {
                        1 => screen.key_events(),
                        2 => screen.clipboard_from_viewer(),
                        _ => screen.typed(),
                    };
                    send(
                        &mut sock,
                        "200 OK",
                        body.as_bytes(),
                        "text/plain; charset=utf-8",
                    )
                    .await
                }
                None => {
                    send(
                        &mut sock,
                        "404 Not Found",
                        b"no built-in console",
                        "text/plain",
                    )
                    .await
                }
            }
            return;
        }
        Ok(Err(e)) => {
            let status = match e {
                HttpError::TooLarge => "413 Request Entity Too Large",
                HttpError::LengthRequired => "411 Length Required",
                HttpError::MethodNotAllowed => "405 Method Not Allowed",
                HttpError::NotFound => "404 Not Found",
                _ => "400 Bad Request",
            };
            send(&mut sock, status, status.as_bytes(), "text/plain").await;
            return;
        }
        Ok(Ok(b)) => b,
    };
    let n = shared.requests.fetch_add(1, Ordering::Relaxed);
    let fault = fault_for(shared.config.seed, shared.config.fault_rate, n);
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    if fault == Some(FaultKind::Timeout) {
        tokio::select! {
            _ = tokio::time::sleep(shared.config.fault_hold) => {}
            _ = stop.changed() => {}
        }
        return;
    }
    if fault == Some(FaultKind::Http500) {
        send(
            &mut sock,
            "500 Internal Server Error",
            b"Internal Server Error",
            "text/plain",
        )
        .await;
        return;
    }
    // Off the async workers: a call holds the world's lock, and a pool of 100,000 VMs takes a
    // good part of a second to write (other connections go on meanwhile, see `handle`).
    let worker = shared.clone();
    let Ok(reply) = tokio::task::spawn_blocking(move || handle(&worker, &body)).await else {
        // The call panicked; like a crashed oned worker, the connection just closes.
        return;
    };
    let reply = if fault == Some(FaultKind::Malformed) {
        let mut cut = reply.len() / 2;
        while !reply.is_char_boundary(cut) {
            cut -= 1;
        }
        reply[..cut].to_string()
    } else {
        reply
    };
    send(
        &mut sock,
        "200 OK",
        reply.as_bytes(),
        "text/xml; charset=utf-8",
    )
    .await;
}

/// Answers one XML-RPC body (the whole request path minus HTTP). Blocking: runs on tokio's
/// blocking threads.
fn handle(shared: &Shared, body: &[u8]) -> String {
    let call = match xmlrpc::parse_call(body) {
        Ok(c) => c,
        Err(e) => {
            return xmlrpc::fault(&xmlrpc::Fault {
                code: -503,
                message: format!("Call XML not a proper XML-RPC call.  {e}"),
            });
        }
    };
    if methods::is_pool_call(&call.name) {
        // The VMs are chosen under one hold of the lock, then written a chunk per hold, so
        // `one.vm.info` and the clock are not held up by a big pool.
        let plan = {
            let mut w = shared.lock();
            w.now_ms = shared.now_ms();
            let plan = methods::plan_pool(&mut w, &call);
            shared.consoles.sync(&mut w);
            plan
        };
        shared.wake.notify_one();
        return match plan {
            Ok(plan) => methods::pool_reply(&plan, || shared.lock_after_others()),
            Err(outcome) => reply_of(&call.name, outcome),
        };
    }
    let outcome = {
        let mut w = shared.lock();
        w.now_ms = shared.now_ms();
        let o = methods::call(&mut w, &call);
        if methods::mutates(&call.name) && matches!(o, Outcome::Ok(_)) {
            shared.dirty.store(true, Ordering::Relaxed);
        }
        shared.consoles.sync(&mut w);
        o
    };
    shared.wake.notify_one();
    reply_of(&call.name, outcome)
}

/// The reply body of a call's outcome.
fn reply_of(method: &str, outcome: Outcome) -> String {
    match outcome {
        Outcome::Ok(r) => xmlrpc::success(&r),
        Outcome::Err(e) => xmlrpc::failure(&format!("[{method}] {}", e.message), e.code, e.index3),
        Outcome::Fault(f) => xmlrpc::fault(&f),
    }
}

/// Answers one XML-RPC body against a world directly (benchmarks and tests of the serialiser),
/// by the server's own path.
pub fn answer(w: &mut World, body: &[u8]) -> String {
    match xmlrpc::parse_call(body) {
        Ok(call) if methods::is_pool_call(&call.name) => match methods::plan_pool(w, &call) {
            Ok(plan) => {
                let w: &World = w;
                methods::pool_reply(&plan, || w)
            }
            Err(outcome) => reply_of(&call.name, outcome),
        },
        Ok(call) => reply_of(&call.name, methods::call(w, &call)),
        Err(e) => xmlrpc::fault(&xmlrpc::Fault {
            code: -503,
            message: e.to_string(),
        }),
    }
}

#[allow(dead_code)]
fn _reply_is_used(r: Reply) -> Reply {
    r
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
