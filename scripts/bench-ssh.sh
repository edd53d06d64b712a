#!/usr/bin/env bash
# Consoles through SSH, measured: relay-bench's downstream and upstream throughput and 64-byte
# round trip through (a) `onedeck-cli relay` dialling directly, (b) the same relay dialling
# OpenSSH's own `ssh -L` forwards, (c) `onedeck-cli relay --ssh` (russh, one tunnel). A real sshd
# on 127.0.0.1 (key auth, user odssh) stands for the front-end; the targets are relay-bench's own.
# Needs root (sshd, the test user), the release CLI and relay-bench (see docs/PERFORMANCE.md).
#
#   scripts/bench-ssh.sh /path/to/relay-bench [extra relay-bench args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${1:?usage: $0 /path/to/relay-bench [args...]}
shift
cli=$PWD/target/release/onedeck-cli
[ -x "$cli" ] || { echo "build it first: cargo build --release -p onedeck-cli" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (sshd and its test user)" >&2; exit 2; }

work=$(mktemp -d /tmp/onedeck-bench-ssh.XXXXXX)
user=odssh
sshd_pid=""
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
  # No password outlives the run.
  usermod -p '*' "$user" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
# sshd takes an account without a password as locked, even for keys: a random one for this run.
echo "$user:$(head -c 18 /dev/urandom | base64)" | chpasswd
ssh-keygen -q -t ed25519 -N "" -f "$work/host_ed25519"
ssh-keygen -q -t ed25519 -N "" -f "$work/id_ed25519"
cp "$work/id_ed25519.pub" "$work/authorized_keys"
# sshd reads authorized_keys as the user it logs in.
chmod 755 "$work"
chmod 644 "$work/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p /run/sshd
cat > "$work/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $work/host_ed25519
PidFile none
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $work/authorized_keys
AllowTcpForwarding yes
PermitTTY no
X11Forwarding no
AllowUsers $user
EOF
/usr/sbin/sshd -D -e -f "$work/sshd_config" 2>/tmp/onedeck-bench-sshd.log &
sshd_pid=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.05
done
echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$work/host_ed25519.pub")" > "$work/known_hosts"

# (b) A relay command that first opens OpenSSH's forwards for relay-bench's three pinned targets
# and points the tokens at them. Same process group as the relay: relay-bench stops both.
base=47100
cat > "$work/relay-via-ssh-L.sh" <<EOF
#!/usr/bin/env bash
set -e
ssh -N -o BatchMode=yes -o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes \\
  -i $work/id_ed25519 -p $port \\
  -L 127.0.0.1:$((base + 10)):127.0.0.1:$base \\
  -L 127.0.0.1:$((base + 11)):127.0.0.1:$((base + 1)) \\
  -L 127.0.0.1:$((base + 12)):127.0.0.1:$((base + 2)) $user@127.0.0.1 &
for p in $((base + 10)) $((base + 11)) $((base + 12)); do
  for _ in \$(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/\$p) 2>/dev/null && break; sleep 0.05; done
done
sed -e "s/:$base\$/:$((base + 10))/" -e "s/:$((base + 1))\$/:$((base + 11))/" \\
  -e "s/:$((base + 2))\$/:$((base + 12))/" "\$3" > $work/tokens-L
exec $cli relay --listen "\$1:\$2" --token-file $work/tokens-L --allow-origin "http://\$1:\$2"
EOF
chmod +x "$work/relay-via-ssh-L.sh"

"$bench" --target-port "$base" --scenarios down,up,lat \
  --relay "$cli relay --listen {host}:{port} --token-file {tokens} --allow-origin http://{host}:{port}" \
  --label direct \
  --relay "$work/relay-via-ssh-L.sh {host} {port} {tokens}" --label openssh-L \
  --relay "$cli relay --listen {host}:{port} --token-file {tokens} --allow-origin http://{host}:{port} --ssh $user@127.0.0.1:$port --identity $work/id_ed25519 --known-hosts $work/known_hosts" \
  --label onedeck-ssh \
  "$@"
