// A tiny VNC server behind a WebSocket on 127.0.0.1 for the console window's UI tests: enough of
// RFC 6455 (one binary frame per message, masked client frames) and RFB 3.8 (None or VNC
// authentication, ServerInit, one Raw framebuffer update, KeyEvent parsing) for noVNC to connect.
// Tickets are single use, like the relay's: a second connection with the same token is refused.
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { uiRoot } from "./harness.mjs";

// noVNC's own DES, so the server checks the response exactly as a VNC server would.
const { DESECBCipher } = await import(
  pathToFileURL(join(uiRoot, "node_modules/@novnc/novnc/core/crypto/des.js")).href
);

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const WIDTH = 64;
const HEIGHT = 48;

function wsFrame(opcode, payload) {
  const length = payload.length;
  let header;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, length]);
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** Splits complete client frames off `buffer`; returns [frames, rest]. */
function parseFrames(buffer) {
  const frames = [];
  let offset = 0;
  for (;;) {
    if (buffer.length - offset < 2) break;
    const opcode = buffer[offset] & 0x0f;
    const masked = (buffer[offset + 1] & 0x80) !== 0;
    let length = buffer[offset + 1] & 0x7f;
    let cursor = offset + 2;
    if (length === 126) {
      if (buffer.length - cursor < 2) break;
      length = buffer.readUInt16BE(cursor);
      cursor += 2;
    } else if (length === 127) {
      if (buffer.length - cursor < 8) break;
      length = Number(buffer.readBigUInt64BE(cursor));
      cursor += 8;
    }
    const maskLength = masked ? 4 : 0;
    if (buffer.length - cursor < maskLength + length) break;
    const mask = buffer.subarray(cursor, cursor + maskLength);
    cursor += maskLength;
    const payload = Buffer.from(buffer.subarray(cursor, cursor + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
    frames.push({ opcode, payload });
    offset = cursor + length;
  }
  return [frames, buffer.subarray(offset)];
}

function vncResponse(password, challenge) {
  const key = Array.from({ length: 8 }, (_, i) => password.charCodeAt(i) || 0);
  return Buffer.from(DESECBCipher.importKey(key).encrypt({ name: "DES-ECB" }, challenge));
}

/**
 * Starts the server. `password` null offers security type None; otherwise VNC authentication.
 * Returns its port, the tickets it accepts, what it saw, and controls.
 */
export async function startVncServer({ password = null, desktopName = "test-desktop", failureReason = "Authentication failed" } = {}) {
  const tickets = new Set();
  const seen = { connections: 0, refusedTickets: [], keys: [], authFailures: 0 };
  const sockets = new Set();

  const server = createServer((_req, res) => res.writeHead(426).end());
  server.on("upgrade", (req, socket) => {
    const token = new URL(req.url ?? "/", "http://x").searchParams.get("token") ?? "";
    if (!tickets.delete(token)) {
      seen.refusedTickets.push(token);
      socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const accept = createHash("sha1")
      .update(req.headers["sec-websocket-key"] + WS_GUID)
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    seen.connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => sockets.delete(socket));
    serveRfb(socket);
  });

  function serveRfb(socket) {
    const send = (bytes) => socket.write(wsFrame(2, Buffer.from(bytes)));
    let pending = Buffer.alloc(0);
    let rfb = Buffer.alloc(0);
    let phase = "version";
    let challenge = null;
    let updateSent = false;

    const u32 = (n) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };

    send(Buffer.from("RFB 003.008\n"));
    socket.on("data", (chunk) => {
      const [frames, rest] = parseFrames(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const frame of frames) {
        if (frame.opcode === 8) {
          socket.end(wsFrame(8, Buffer.alloc(0)));
          return;
        }
        if (frame.opcode === 2) rfb = Buffer.concat([rfb, frame.payload]);
      }
      for (;;) {
        const consumed = step();
        if (consumed === 0) break;
        rfb = rfb.subarray(consumed);
      }
    });

    // Handles one RFB message from the client; returns the bytes it used (0 = needs more).
    function step() {
      switch (phase) {
        case "version":
          if (rfb.length < 12) return 0;
          send(password === null ? [1, 1] : [1, 2]);
          phase = "security";
          return 12;
        case "security": {
          if (rfb.length < 1) return 0;
          if (password === null) {
            send(u32(0));
            phase = "clientInit";
          } else {
            challenge = randomBytes(16);
            send(challenge);
            phase = "auth";
          }
          return 1;
        }
        case "auth": {
          if (rfb.length < 16) return 0;
          const expected = vncResponse(password, challenge);
          if (expected.equals(rfb.subarray(0, 16))) {
            send(u32(0));
            phase = "clientInit";
          } else {
            seen.authFailures += 1;
            const reason = Buffer.from(failureReason);
            send(Buffer.concat([u32(1), u32(reason.length), reason]));
            phase = "closed";
          }
          return 16;
        }
        case "clientInit": {
          if (rfb.length < 1) return 0;
          const name = Buffer.from(desktopName);
          const init = Buffer.alloc(24);
          init.writeUInt16BE(WIDTH, 0);
          init.writeUInt16BE(HEIGHT, 2);
          // 32 bpp, depth 24, little-endian, true colour, max 255, shifts 16/8/0.
          Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]).copy(init, 4);
          init.writeUInt32BE(name.length, 20);
          send(Buffer.concat([init, name]));
          phase = "normal";
          return 1;
        }
        case "normal":
          return clientMessage();
        default:
          return rfb.length;
      }
    }

    function clientMessage() {
      if (rfb.length < 1) return 0;
      switch (rfb[0]) {
        case 0: // SetPixelFormat
          return rfb.length < 20 ? 0 : 20;
        case 2: {
          // SetEncodings
          if (rfb.length < 4) return 0;
          const size = 4 + 4 * rfb.readUInt16BE(2);
          return rfb.length < size ? 0 : size;
        }
        case 3: // FramebufferUpdateRequest
          if (rfb.length < 10) return 0;
          if (!updateSent) {
            updateSent = true;
            sendFramebuffer();
          }
          return 10;
        case 4: // KeyEvent
          if (rfb.length < 8) return 0;
          seen.keys.push({ down: rfb[1] === 1, keysym: rfb.readUInt32BE(4) });
          return 8;
        case 5: // PointerEvent
          return rfb.length < 6 ? 0 : 6;
        case 6: {
          // ClientCutText
          if (rfb.length < 8) return 0;
          const size = 8 + rfb.readUInt32BE(4);
          return rfb.length < size ? 0 : size;
        }
        default:
          // Anything else (extensions we never announced): drop what is buffered.
          return rfb.length;
      }
    }

    function sendFramebuffer() {
      const header = Buffer.alloc(16);
      header[0] = 0; // FramebufferUpdate
      header.writeUInt16BE(1, 2);
      header.writeUInt16BE(WIDTH, 8);
      header.writeUInt16BE(HEIGHT, 10);
      header.writeInt32BE(0, 12); // Raw
      const pixels = Buffer.alloc(WIDTH * HEIGHT * 4);
      for (let y = 0; y < HEIGHT; y++) {
        for (let x = 0; x < WIDTH; x++) {
          const i = (y * WIDTH + x) * 4;
          // noVNC asks for red at shift 0: bytes are R, G, B, pad.
          pixels[i] = x * 4;
          pixels[i + 1] = 0x6b;
          pixels[i + 2] = y * 5;
        }
      }
      send(Buffer.concat([header, pixels]));
    }
  }

  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return {
    port,
    seen,
    /** Registers a single-use ticket and returns its WebSocket URL. */
    ticket() {
      const token = randomBytes(12).toString("hex");
      tickets.add(token);
      return { token, wsUrl: `ws://127.0.0.1:${port}/?token=${token}` };
    },
    /** Closes every session cleanly (WebSocket close frame). */
    hangUp() {
      for (const socket of sockets) socket.end(wsFrame(8, Buffer.from([0x03, 0xe8])));
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((ok) => server.close(ok));
    },
  };
}
