//! A lab of network namespaces that the tests make and remove: "front" runs a real OpenSSH
//! sshd; "hv" runs the console targets and is reachable only from "front"; this process (the
//! laptop) reaches only "front". Needs root, `ip` and sshd; without them a test skips, unless
//! `ONEDECK_REQUIRE_NETNS` is set (`make test` sets it), when it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The system user the lab's sshd logs in (made once; its password is random per lab and
/// reset to none when the lab ends).
pub const USER: &str = "odssh";

fn run(cmd: &mut Command) -> TestResult<String> {
    let out = cmd.stderr(Stdio::piped()).stdout(Stdio::piped()).output()?;
    if !out.status.success() {
        return Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr).trim()).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ip(args: &[&str]) -> TestResult {
    run(Command::new("ip").args(args)).map(drop)
}

/// Whether the lab can run here; prints why not (or fails when it is required).
pub fn available(test: &str) -> bool {
    let root = run(Command::new("id").arg("-u")).is_ok_and(|u| u.trim() == "0");
    let tools = Path::new("/usr/sbin/sshd").is_file() && run(Command::new("ip").arg("-V")).is_ok();
    if root && tools {
        return true;
    }
    assert!(
        std::env::var_os("ONEDECK_REQUIRE_NETNS").is_none(),
        "the SSH lab is required (ONEDECK_REQUIRE_NETNS) but needs root, ip and sshd (openssh-server)"
    );
    eprintln!("SKIPPED {test}: the SSH lab needs root, ip and sshd");
    false
}

/// The lab. Dropping it stops everything and removes the namespaces.
pub struct Lab {
    pub front_ns: String,
    pub hv_ns: String,
    /// sshd's address, reachable from here.
    pub front_ip: String,
    /// The console side's address, reachable only from "front".
    pub hv_ip: String,
    pub dir: tempfile::TempDir,
    pub password: String,
    sshd: Option<std::process::Child>,
    children: Vec<std::process::Child>,
    veth: String,
    /// The route that makes "hv" unreachable from here (whatever the default route leads to).
    unreachable: String,
}

impl Lab {
    pub fn start() -> TestResult<Self> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let k = (std::process::id() * 7 + n * 31) % 250 + 1;
        let tag = format!("{}{n}", std::process::id() % 100_000);
        let (front_ns, hv_ns) = (format!("odf{tag}"), format!("odh{tag}"));
        let veth = format!("odr{tag}");
        let dir = tempfile::tempdir()?;
        let password = lab_password()?;
        let mut lab = Self {
            front_ns,
            hv_ns,
            front_ip: format!("10.231.{k}.2"),
            hv_ip: format!("10.232.{k}.2"),
            dir,
            password,
            sshd: None,
            children: Vec::new(),
            veth,
            unreachable: format!("10.232.{k}.0/24"),
        };
        lab.network(k)?;
        lab.start_sshd()?;
        Ok(lab)
    }

    fn network(&self, k: u32) -> TestResult {
        let (f, h) = (self.front_ns.as_str(), self.hv_ns.as_str());
        ip(&["netns", "add", f])?;
        ip(&["netns", "add", h])?;
        // This machine's default route may lead somewhere that answers anything: "hv" is made
        // unreachable from here explicitly.
        ip(&["route", "add", "unreachable", &self.unreachable])?;
        let peer_f = format!("{}f", &self.veth[..self.veth.len().min(13)]);
        let hv_a = format!("{}a", &self.veth[..self.veth.len().min(13)]);
        let hv_b = format!("{}b", &self.veth[..self.veth.len().min(13)]);
        ip(&[
            "link", "add", &self.veth, "type", "veth", "peer", "name", &peer_f, "netns", f,
        ])?;
        ip(&[
            "addr",
            "add",
            &format!("10.231.{k}.1/24"),
            "dev",
            &self.veth,
        ])?;
        ip(&["link", "set", &self.veth, "up"])?;
        ip(&[
            "-n",
            f,
            "addr",
            "add",
            &format!("10.231.{k}.2/24"),
            "dev",
            &peer_f,
        ])?;
        ip(&["-n", f, "link", "set", &peer_f, "up"])?;
        ip(&["-n", f, "link", "set", "lo", "up"])?;
        ip(&[
            "-n", f, "link", "add", &hv_a, "type", "veth", "peer", "name", &hv_b, "netns", h,
        ])?;
        ip(&[
            "-n",
            f,
            "addr",
            "add",
            &format!("10.232.{k}.1/24"),
            "dev",
            &hv_a,
        ])?;
        ip(&["-n", f, "link", "set", &hv_a, "up"])?;
        ip(&[
            "-n",
            h,
            "addr",
            "add",
            &format!("10.232.{k}.2/24"),
            "dev",
            &hv_b,
        ])?;
        ip(&["-n", h, "link", "set", &hv_b, "up"])?;
        ip(&["-n", h, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// The sshd host key's public half, as a known_hosts line for the front's address.
    pub fn known_hosts_line(&self) -> TestResult<String> {
        let public = std::fs::read_to_string(self.dir.path().join("host_ed25519.pub"))?;
        let mut parts = public.split_whitespace();
        Ok(format!(
            "{} {} {}\n",
            self.front_ip,
            parts.next().ok_or("key type")?,
            parts.next().ok_or("key")?
        ))
    }

    /// `ssh-keygen -lf`'s fingerprint of the host key.
    pub fn host_fingerprint(&self) -> TestResult<String> {
        let out = run(Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.dir.path().join("host_ed25519.pub")))?;
        Ok(out
            .split_whitespace()
            .nth(1)
            .ok_or("fingerprint")?
            .to_owned())
    }

    pub fn start_sshd(&mut self) -> TestResult {
        let d = self.dir.path();
        let host_key = d.join("host_ed25519");
        if !host_key.exists() {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&host_key))?;
        }
        std::fs::create_dir_all("/run/sshd")?;
        let config = d.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress {ip}\nPort 22\nHostKey {key}\nPidFile none\nUsePAM no\n\
                 StrictModes no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nAuthorizedKeysFile {auth}\nAllowTcpForwarding yes\n\
                 PermitTTY no\nX11Forwarding no\nAllowUsers {USER}\nLogLevel VERBOSE\n",
                ip = self.front_ip,
                key = host_key.display(),
                auth = d.join("authorized_keys").display(),
            ),
        )?;
        let log = std::fs::File::create(d.join("sshd.log"))?;
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.front_ns,
                "/usr/sbin/sshd",
                "-D",
                "-e",
                "-f",
            ])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.sshd = Some(child);
        self.wait_port(&self.front_ip.clone(), 22)?;
        Ok(())
    }

    /// Kills sshd (and every connection it serves).
    pub fn kill_sshd(&mut self) -> TestResult {
        if let Some(mut c) = self.sshd.take() {
            // `ip netns exec` execs sshd: the child is sshd itself; its session children die with
            // their connections, which the kill drops.
            c.kill()?;
            c.wait()?;
        }
        let _ = run(Command::new("ip").args(["netns", "pids", &self.front_ns])).map(|pids| {
            for pid in pids.split_whitespace() {
                let _ = Command::new("kill").arg("-9").arg(pid).status();
            }
        });
        Ok(())
    }

    /// Runs `program` in "hv" until the lab ends.
    pub fn spawn_in_hv(&mut self, program: &str, args: &[&str]) -> TestResult {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.hv_ns, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.children.push(child);
        Ok(())
    }

    /// A TCP server in "hv" on `port` that answers `greeting`, echoes one read, and counts
    /// connections in `<dir>/count-<port>` (not counting the readiness probe).
    pub fn greeter_in_hv(&mut self, port: u16, greeting: &str) -> TestResult<PathBuf> {
        let count = self.dir.path().join(format!("count-{port}"));
        std::fs::write(&count, "0")?;
        let script = format!(
            "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
             s.bind(('{ip}',{port}))\ns.listen(16)\nn=-1\nwhile True:\n    c,_=s.accept()\n    n+=1\n    \
             open('{count}','w').write(str(n))\n    try:\n        c.sendall({greeting:?}.encode())\n        \
             c.sendall(c.recv(65536))\n    except OSError:\n        pass\n    c.close()\n",
            ip = self.hv_ip,
            count = count.display(),
        );
        self.spawn_in_hv("python3", &["-c", &script])?;
        self.wait_port_in(&self.front_ns.clone(), &self.hv_ip.clone(), port)?;
        Ok(count)
    }

    fn wait_port(&self, host: &str, port: u16) -> TestResult {
        for _ in 0..200 {
            if std::net::TcpStream::connect_timeout(
                &format!("{host}:{port}").parse()?,
                Duration::from_millis(100),
            )
            .is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(format!("nothing listens on {host}:{port}").into())
    }

    /// Waits until `host:port` accepts connections from inside namespace `ns`.
    fn wait_port_in(&self, ns: &str, host: &str, port: u16) -> TestResult {
        for _ in 0..200 {
            let probe = Command::new("ip")
                .args(["netns", "exec", ns, "python3", "-c"])
                .arg(format!(
                    "import socket;socket.create_connection(('{host}',{port}),1).close()"
                ))
                .stderr(Stdio::null())
                .status()?;
            if probe.success() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("nothing listens on {host}:{port} in {ns}").into())
    }

    /// A new key pair in the lab dir (`passphrase` may be empty), authorised for [`USER`].
    pub fn authorised_key(&self, name: &str, passphrase: &str) -> TestResult<PathBuf> {
        let key = self.dir.path().join(name);
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
            .arg(&key))?;
        let public = std::fs::read_to_string(key.with_extension("pub"))?;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.dir.path().join("authorized_keys"))?;
        std::io::Write::write_all(&mut f, public.as_bytes())?;
        Ok(key)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.kill_sshd();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = ip(&["netns", "del", &self.front_ns]);
        let _ = ip(&["netns", "del", &self.hv_ns]);
        let _ = ip(&["link", "del", &self.veth]);
        let _ = ip(&["route", "del", &self.unreachable]);
        // No password outlives the last lab of this process.
        if LABS.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _ = run(Command::new("usermod").args(["-p", "*", USER]));
        }
    }
}

/// Labs alive in this process: they share the user's password, reset when the last one ends.
static LABS: AtomicU32 = AtomicU32::new(0);

/// This process's random password for [`USER`], set once (tests run labs in parallel).
fn lab_password() -> TestResult<String> {
    static PASSWORD: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let mut slot = PASSWORD.lock().map_err(|_| "poisoned")?;
    LABS.fetch_add(1, Ordering::SeqCst);
    if slot.is_none() || LABS.load(Ordering::SeqCst) == 1 {
        ensure_user()?;
        let pw = format!("Lab-{:016x}", rand_u64());
        set_password(&pw)?;
        *slot = Some(pw);
    }
    Ok(slot.clone().unwrap_or_default())
}

fn ensure_user() -> TestResult {
    if run(Command::new("id").arg(USER)).is_ok() {
        return Ok(());
    }
    run(Command::new("useradd").args([
        "--system",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        USER,
    ]))
    .map(drop)
}

fn set_password(password: &str) -> TestResult {
    use std::io::Write;
    let mut child = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("chpasswd stdin")?
        .write_all(format!("{USER}:{password}\n").as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!("chpasswd: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}
