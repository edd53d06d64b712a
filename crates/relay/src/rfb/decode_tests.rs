//! The server-side decoder and the screen: every encoding a recorded session may use, fed whole
//! and split at every byte, bounds, and the client-side rewriting of SetEncodings.

use super::screen::{PixelFormat, Screen};
use super::server::{ServerDecoder, encoding_kept};
use super::{ClientEvent, Observer};

/// noVNC's pixel format: 32 bits, little-endian, red at 0, green at 8, blue at 16.
const NOVNC: [u8; 16] = [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0];

fn screen(w: u16, h: u16) -> Screen {
    let pf = PixelFormat::parse(&NOVNC).expect("valid format");
    Screen::new(w, h, pf, "test").expect("small screen")
}

fn px(r: u8, g: u8, b: u8) -> [u8; 4] {
    [r, g, b, 0]
}

fn rect(x: u16, y: u16, w: u16, h: u16, enc: i32) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [x, y, w, h] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(&enc.to_be_bytes());
    b
}

fn update(rects: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0, 0];
    b.extend_from_slice(&(rects.len() as u16).to_be_bytes());
    for r in rects {
        b.extend_from_slice(r);
    }
    b
}

/// A stream that uses Raw, CopyRect, RRE, Hextile (every subencoding), a bell, a clipboard,
/// a desktop name, LED state and a cursor.
fn stream() -> Vec<u8> {
    let mut raw = rect(0, 0, 40, 20, 0);
    for i in 0..40 * 20 {
        raw.extend_from_slice(&px(i as u8, (i / 40) as u8, 7));
    }
    let mut copy = rect(20, 10, 10, 5, 1);
    copy.extend_from_slice(&[0, 2, 0, 3]);
    let mut rre = rect(2, 12, 12, 6, 2);
    rre.extend_from_slice(&2u32.to_be_bytes());
    rre.extend_from_slice(&px(200, 0, 0));
    for (x, y, w, h, c) in [(1u16, 1u16, 3u16, 2u16, 50u8), (10, 4, 9, 9, 60)] {
        rre.extend_from_slice(&px(c, c, c));
        for v in [x, y, w, h] {
            rre.extend_from_slice(&v.to_be_bytes());
        }
    }
    // Hextile 36×20: 3×2 tiles, the right and bottom ones partial.
    let mut hex = rect(3, 0, 36, 20, 5);
    hex.push(1); // raw tile 16×16
    for i in 0..256 {
        hex.extend_from_slice(&px(i as u8, 1, 2));
    }
    hex.push(2 | 4 | 8); // background, foreground, two subrects in the foreground
    hex.extend_from_slice(&px(9, 9, 9));
    hex.extend_from_slice(&px(90, 90, 90));
    hex.extend_from_slice(&[2, 0x12, 0x11, 0xff, 0x00]);
    hex.push(8 | 16); // coloured subrects on the last background
    hex.extend_from_slice(&[1]);
    hex.extend_from_slice(&px(1, 2, 3));
    hex.extend_from_slice(&[0x00, 0x33]);
    hex.push(0); // nothing set: the last background
    hex.push(2); // background only
    hex.extend_from_slice(&px(4, 4, 4));
    hex.push(8); // subrects in the last foreground
    hex.extend_from_slice(&[1, 0x21, 0x10]);
    let mut cursor = rect(1, 1, 2, 2, -239);
    for _ in 0..4 {
        cursor.extend_from_slice(&px(255, 255, 255));
    }
    cursor.extend_from_slice(&[0xc0, 0xc0]);
    let mut name = rect(0, 0, 0, 0, -307);
    name.extend_from_slice(&3u32.to_be_bytes());
    name.extend_from_slice(b"abc");
    let mut led = rect(0, 0, 0, 0, -261);
    led.push(2);
    let mut s = update(&[raw, copy]);
    s.push(2); // Bell
    s.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 4]);
    s.extend_from_slice(b"clip");
    s.extend_from_slice(&update(&[
        rre,
        hex,
        cursor,
        name,
        led,
        rect(0, 0, 0, 0, -224),
    ]));
    s
}

/// The screen `stream()` paints, computed pixel by pixel from the RFB rules.
fn expected() -> Vec<u8> {
    let (w, h) = (48usize, 24usize);
    let mut fb = vec![[0u8; 4]; w * h];
    let set = |fb: &mut Vec<[u8; 4]>, x: usize, y: usize, c: [u8; 4]| fb[y * w + x] = c;
    for y in 0..20 {
        for x in 0..40 {
            let i = y * 40 + x;
            set(&mut fb, x, y, px(i as u8, (i / 40) as u8, 7));
        }
    }
    let snapshot = fb.clone();
    for y in 0..5 {
        for x in 0..10 {
            set(&mut fb, 20 + x, 10 + y, snapshot[(3 + y) * w + 2 + x]);
        }
    }
    let fill = |fb: &mut Vec<[u8; 4]>, x: usize, y: usize, rw: usize, rh: usize, c: [u8; 4]| {
        for yy in y..y + rh {
            for xx in x..x + rw {
                fb[yy * w + xx] = c;
            }
        }
    };
    fill(&mut fb, 2, 12, 12, 6, px(200, 0, 0));
    fill(&mut fb, 3, 13, 3, 2, px(50, 50, 50));
    // The second subrect is clipped to the 12×6 rectangle: from (12, 16), 2×2.
    fill(&mut fb, 12, 16, 2, 2, px(60, 60, 60));
    for i in 0..256 {
        set(&mut fb, 3 + i % 16, i / 16, px(i as u8, 1, 2));
    }
    // Tile (1, 0) at x 19: background 9, subrects (1,2) 2×2 and (15,15) clipped to 1×1.
    fill(&mut fb, 19, 0, 16, 16, px(9, 9, 9));
    fill(&mut fb, 20, 2, 2, 2, px(90, 90, 90));
    fill(&mut fb, 34, 15, 1, 1, px(90, 90, 90));
    // Tile (2, 0) at x 35, 4 wide: background 9, a coloured 4×4 at (0, 0).
    fill(&mut fb, 35, 0, 4, 16, px(9, 9, 9));
    fill(&mut fb, 35, 0, 4, 4, px(1, 2, 3));
    // Row 1 (y 16, 4 high): tile (0,1) last background 9; (1,1) background 4; (2,1) bg 4 and a
    // foreground subrect at (2,1) 2×1.
    fill(&mut fb, 3, 16, 16, 4, px(9, 9, 9));
    fill(&mut fb, 19, 16, 16, 4, px(4, 4, 4));
    fill(&mut fb, 35, 16, 4, 4, px(4, 4, 4));
    fill(&mut fb, 37, 17, 2, 1, px(90, 90, 90));
    fb.concat()
}

#[test]
fn every_encoding_paints_what_rfb_says_fed_whole_or_split_anywhere() {
    let s = stream();
    let want = expected();
    let mut whole = ServerDecoder::new(screen(48, 24));
    assert_eq!(whole.feed(&s, false), s.len());
    assert_eq!(whole.broken(), None);
    assert!(whole.at_boundary());
    assert_eq!(whole.screen().pixels(), want.as_slice());
    for cut in 1..s.len() {
        let mut d = ServerDecoder::new(screen(48, 24));
        d.feed(&s[..cut], false);
        d.feed(&s[cut..], false);
        assert_eq!(d.broken(), None, "split at {cut}");
        assert_eq!(d.screen().pixels(), want.as_slice(), "split at {cut}");
    }
    // Byte by byte, too.
    let mut d = ServerDecoder::new(screen(48, 24));
    for b in &s {
        d.feed(std::slice::from_ref(b), false);
    }
    assert_eq!(d.screen().pixels(), want.as_slice());
}

#[test]
fn feeding_can_stop_at_each_message_boundary() {
    let s = stream();
    let mut d = ServerDecoder::new(screen(48, 24));
    let mut rest = s.as_slice();
    let mut ends = Vec::new();
    while !rest.is_empty() {
        let n = d.feed(rest, true);
        rest = &rest[n..];
        ends.push(s.len() - rest.len());
        assert!(d.at_boundary());
    }
    // Two updates, a bell, a clipboard message: four boundaries, the last at the end.
    assert_eq!(ends.len(), 4);
    assert_eq!(ends.last(), Some(&s.len()));
}

#[test]
fn a_keyframe_rebuilds_the_same_screen_and_cursor() {
    let mut d = ServerDecoder::new(screen(48, 24));
    d.feed(&stream(), false);
    let init = d.screen().server_init();
    let upd = d.screen().update();
    let mut again = ServerDecoder::new(Screen::from_server_init(&init).expect("init"));
    assert_eq!(again.feed(&upd, false), upd.len());
    assert_eq!(again.broken(), None);
    assert_eq!(again.screen().pixels(), d.screen().pixels());
    // The cursor rectangle rides along: the keyframe's update re-encodes to the same bytes.
    assert_eq!(again.screen().update(), upd);
    assert_eq!(upd[3], 2, "two rectangles: the screen and the cursor");
}

#[test]
fn resizes_keep_what_overlaps_as_novnc_does() {
    let mut d = ServerDecoder::new(screen(4, 2));
    let mut raw = rect(0, 0, 4, 2, 0);
    for i in 0..8u8 {
        raw.extend_from_slice(&px(i, i, i));
    }
    d.feed(&update(&[raw]), false);
    d.feed(&update(&[rect(0, 0, 2, 3, -223)]), false);
    assert_eq!((d.screen().width(), d.screen().height()), (2, 3));
    let rows: Vec<u8> = [0, 1, 4, 5, 255, 255]
        .iter()
        .flat_map(|&i| if i == 255 { [0; 4] } else { px(i, i, i) })
        .collect();
    assert_eq!(d.screen().pixels(), rows.as_slice());
    // ExtendedDesktopSize: a refused resize (x 1, y 3) changes nothing; an accepted one does.
    let mut refused = rect(1, 3, 9, 9, -308);
    refused.extend_from_slice(&[1, 0, 0, 0]);
    refused.extend_from_slice(&[0; 16]);
    d.feed(&update(&[refused]), false);
    assert_eq!((d.screen().width(), d.screen().height()), (2, 3));
    let mut accepted = rect(0, 0, 5, 5, -308);
    accepted.extend_from_slice(&[0, 0, 0, 0]);
    d.feed(&update(&[accepted]), false);
    assert_eq!((d.screen().width(), d.screen().height()), (5, 5));
    assert_eq!(d.broken(), None);
}

#[test]
fn what_cannot_be_decoded_stops_the_decoder_with_a_reason() {
    for (bytes, why) in [
        (update(&[rect(0, 0, 1, 1, 7)]), "encoding 7"),
        (update(&[rect(40, 0, 10, 1, 0)]), "outside the 48×24 screen"),
        (vec![99], "server message type 99"),
        (
            {
                let mut c = rect(0, 0, 1, 1, 1);
                c.extend_from_slice(&[0, 48, 0, 23]);
                update(&[c])
            },
            "outside",
        ),
    ] {
        let mut d = ServerDecoder::new(screen(48, 24));
        assert_eq!(d.feed(&bytes, false), bytes.len());
        let got = d.broken().unwrap_or_default().to_owned();
        assert!(got.contains(why), "{got:?} should name {why:?}");
        // Stopped for good: more bytes are taken and ignored.
        assert_eq!(d.feed(&stream(), false), stream().len());
        assert_eq!(d.broken(), Some(got.as_str()));
    }
    // A screen larger than the bound is refused, not allocated.
    let pf = PixelFormat::parse(&NOVNC).expect("valid");
    assert!(Screen::new(65535, 65535, pf, "").is_err());
    let mut d = ServerDecoder::new(screen(48, 24));
    d.feed(&update(&[rect(0, 0, 65535, 65535, -223)]), false);
    assert!(d.broken().is_some_and(|w| w.contains("larger")));
}

#[test]
fn huge_declared_lengths_are_skipped_by_count() {
    let mut d = ServerDecoder::new(screen(48, 24));
    // A 1 GiB clipboard announced, 10 bytes of it sent: still inside the message.
    let mut clip = vec![3, 0, 0, 0];
    clip.extend_from_slice(&(1u32 << 30).to_be_bytes());
    clip.extend_from_slice(&[b'x'; 10]);
    d.feed(&clip, false);
    assert!(!d.at_boundary());
    // A 4000×4000 cursor is not kept; the decoder skips it and goes on.
    let mut d = ServerDecoder::new(screen(48, 24));
    let (w, h) = (4000usize, 4000usize);
    let mut cursor = update(&[rect(0, 0, w as u16, h as u16, -239)]);
    cursor.resize(cursor.len() + w * h * 4 + w.div_ceil(8) * h, 0);
    cursor.extend_from_slice(&stream());
    d.feed(&cursor, false);
    assert_eq!(d.broken(), None);
    assert_eq!(d.screen().pixels(), expected().as_slice());
    assert_eq!(
        d.screen().update()[3],
        2,
        "the stream's own small cursor is kept"
    );
}

#[test]
fn other_pixel_formats_and_rgba() {
    // 16 bits big-endian 5-6-5, as some servers prefer.
    let pf = [16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0];
    let mut d = ServerDecoder::new(screen(2, 1));
    d.set_pixel_format(&pf);
    let mut raw = rect(0, 0, 2, 1, 0);
    raw.extend_from_slice(&0xf800u16.to_be_bytes()); // red
    raw.extend_from_slice(&0x07e0u16.to_be_bytes()); // green
    d.feed(&update(&[raw]), false);
    assert_eq!(d.broken(), None);
    assert_eq!(
        d.screen().rgba().expect("true colour"),
        vec![255, 0, 0, 255, 0, 255, 0, 255]
    );
    let mut bad = ServerDecoder::new(screen(2, 1));
    bad.set_pixel_format(&[24, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]);
    assert!(bad.broken().is_some_and(|w| w.contains("24 bits")));
    let mut map = NOVNC;
    map[3] = 0;
    let pf = PixelFormat::parse(&map).expect("parses");
    let s = Screen::new(1, 1, pf, "").expect("small");
    assert!(s.rgba().is_err());
}

fn set_encodings(encs: &[i32]) -> Vec<u8> {
    let mut m = vec![2, 0];
    m.extend_from_slice(&(encs.len() as u16).to_be_bytes());
    for e in encs {
        m.extend_from_slice(&e.to_be_bytes());
    }
    m
}

/// An observer past a None-security 3.8 handshake and ServerInit.
fn observer() -> Observer {
    let mut o = Observer::new();
    o.server_bytes(b"RFB 003.008\n");
    o.client_bytes(b"RFB 003.008\n", |_| {});
    o.server_bytes(&[1, 1]);
    o.client_bytes(&[1], |_| {});
    let mut init = vec![0, 8, 0, 8];
    init.extend_from_slice(&NOVNC);
    init.extend_from_slice(&0u32.to_be_bytes());
    o.server_bytes(&[0, 0, 0, 0]);
    o.server_bytes(&init);
    o.client_bytes(&[1], |_| {});
    o
}

#[test]
fn a_recorded_session_offers_only_what_keyframes_can_rebuild() {
    // noVNC's list: CopyRect, Tight, TightPNG, ZRLE, JPEG, Hextile, RRE, Zlib, Raw, levels,
    // pseudo-encodings, VMware cursor, Cursor.
    let novnc = [
        1,
        7,
        -260,
        16,
        21,
        5,
        2,
        6,
        0,
        -26,
        -254,
        -223,
        -224,
        -258,
        -261,
        -308,
        -309,
        -312,
        -313,
        -307,
        0xc0a1_e5ce_u32 as i32,
        -316,
        0x574d_5664,
        -239,
    ];
    let mut msg = vec![0, 0, 0, 0];
    msg.extend_from_slice(&NOVNC);
    msg.extend_from_slice(&set_encodings(&novnc));
    msg.extend_from_slice(&[4, 1, 0, 0, 0, 0, 0, 0x61]);
    let mut o = observer();
    let mut keys = 0;
    o.client_bytes_restricted(&mut msg, |e| {
        if matches!(e, ClientEvent::Key { .. }) {
            keys += 1;
        }
    });
    assert_eq!(keys, 1, "messages after the list are still read");
    assert_eq!(o.take_pixel_format(), Some(NOVNC));
    assert_eq!(o.take_pixel_format(), None);
    let list: Vec<i32> = msg[24..24 + 4 * novnc.len()]
        .chunks(4)
        .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    for (sent, offered) in novnc.iter().zip(&list) {
        if encoding_kept(*sent) {
            assert_eq!(offered, sent);
        } else {
            assert_eq!(*offered, 5, "{sent} becomes Hextile");
        }
    }
    for dropped in [7, -260, 16, 21, 6, 0x574d_5664] {
        assert!(!list.contains(&dropped), "{dropped} is not offered");
    }
    assert!(!o.unrestricted());
    // Unrecorded sessions are left alone.
    let mut o = observer();
    let mut plain = set_encodings(&[7, 0]);
    let before = plain.clone();
    o.client_bytes(&plain, |_| {});
    o.client_bytes_restricted(&mut [], |_| {});
    plain.truncate(before.len());
    assert_eq!(plain, before);
}

#[test]
fn an_entry_split_across_reads_is_reported_not_guessed() {
    let mut o = observer();
    let mut m = set_encodings(&[0, 7]);
    let (a, b) = m.split_at_mut(10);
    o.client_bytes_restricted(a, |_| {});
    o.client_bytes_restricted(b, |_| {});
    assert!(o.unrestricted());
    // An entry whole in its read is rewritten even when the message is split elsewhere.
    let mut o = observer();
    let mut m = set_encodings(&[0, 7]);
    let (a, b) = m.split_at_mut(8);
    o.client_bytes_restricted(a, |_| {});
    o.client_bytes_restricted(b, |_| {});
    assert!(!o.unrestricted());
    assert_eq!(&m[8..12], &[0, 0, 0, 5]);
}

#[test]
fn a_message_whose_last_part_is_empty_ends_with_its_header() {
    // An empty clipboard, an empty desktop name, a hidden (0×0) cursor: each message is over
    // with the last byte of its header, so a keyframe can follow right there.
    let mut name = rect(0, 0, 0, 0, -307);
    name.extend_from_slice(&0u32.to_be_bytes());
    for message in [
        vec![3, 0, 0, 0, 0, 0, 0, 0],
        update(&[name]),
        update(&[rect(0, 0, 0, 0, -239)]),
    ] {
        let mut d = ServerDecoder::new(screen(4, 4));
        assert_eq!(d.feed(&message, true), message.len());
        assert!(d.at_boundary(), "{message:?}");
        assert_eq!(d.broken(), None);
    }
}
