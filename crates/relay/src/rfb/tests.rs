use super::*;

/// One step of a conversation: who sends which bytes.
enum Step {
    S(Vec<u8>),
    C(Vec<u8>),
}
use Step::{C, S};

fn server_init(name: &[u8]) -> Vec<u8> {
    let mut v = vec![0x04, 0x00, 0x03, 0x00]; // 1024 x 768
    v.extend_from_slice(&[32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    v.extend_from_slice(&(name.len() as u32).to_be_bytes());
    v.extend_from_slice(name);
    v
}

fn key(down: bool, keysym: u32) -> Vec<u8> {
    let mut v = vec![4, u8::from(down), 0, 0];
    v.extend_from_slice(&keysym.to_be_bytes());
    v
}

fn fbur() -> Vec<u8> {
    vec![3, 1, 0, 0, 0, 0, 4, 0, 3, 0]
}

/// A 3.8 session with VNC authentication, then some messages.
fn vnc_auth_38() -> Vec<Step> {
    let mut set_encodings = vec![2, 0, 0, 3];
    for e in [7i32, -223, 0] {
        set_encodings.extend_from_slice(&e.to_be_bytes());
    }
    let mut cut = vec![6, 0, 0, 0];
    cut.extend_from_slice(&5u32.to_be_bytes());
    cut.extend_from_slice(b"hello");
    let mut ext_key = vec![255, 0, 0, 1];
    ext_key.extend_from_slice(&0x61u32.to_be_bytes());
    ext_key.extend_from_slice(&0x1eu32.to_be_bytes());
    vec![
        S(b"RFB 003.008\n".to_vec()),
        C(b"RFB 003.008\n".to_vec()),
        S(vec![1, 2]),
        C(vec![2]),
        S(vec![0xAA; 16]),
        C(vec![0xBB; 16]),
        S(vec![0, 0, 0, 0]),
        C(vec![1]),
        S(server_init(b"QEMU (one-42)")),
        C(set_encodings),
        C(fbur()),
        C(key(true, 0x61)),
        C(key(false, 0x61)),
        C(vec![5, 1, 0, 10, 0, 20]),
        C(cut),
        C(ext_key),
        C(vec![255, 1, 0, 2, 3, 2, 0, 0, 0xac, 0x44]),
        C(fbur()),
    ]
}

/// Plays `steps`, each message cut into pieces of `piece` bytes.
fn play(steps: &[Step], piece: usize) -> (Observer, Vec<ClientEvent>, usize) {
    let mut o = Observer::new();
    let mut events = Vec::new();
    let mut active = 0;
    for step in steps {
        match step {
            S(b) => b.chunks(piece).for_each(|c| {
                o.server_bytes(c);
            }),
            C(b) => {
                for c in b.chunks(piece) {
                    active += o.client_bytes(c, |e| events.push(e));
                }
            }
        }
    }
    (o, events, active)
}

#[test]
fn follows_a_38_session_with_vnc_auth_in_any_split() {
    for piece in [1, 2, 3, 5, 7, 64] {
        let (o, events, active) = play(&vnc_auth_38(), piece);
        assert_eq!(o.phase(), &Phase::Normal, "piece {piece}");
        assert_eq!(o.security(), Some(SECURITY_VNC));
        assert_eq!(o.secret_bytes(), 32);
        let init = o.server_init().expect("ServerInit seen");
        assert_eq!((init.width, init.height), (1024, 768));
        assert_eq!(init.name, "QEMU (one-42)");
        assert_eq!(
            events,
            vec![
                ClientEvent::Key {
                    down: true,
                    keysym: 0x61,
                    keycode: None
                },
                ClientEvent::Key {
                    down: false,
                    keysym: 0x61,
                    keycode: None
                },
                ClientEvent::Pointer {
                    buttons: 1,
                    x: 10,
                    y: 20
                },
                ClientEvent::CutText { len: 5 },
                ClientEvent::Key {
                    down: true,
                    keysym: 0x61,
                    keycode: Some(0x1e)
                },
            ],
            "piece {piece}"
        );
        assert!(active > 0);
    }
}

#[test]
fn update_requests_alone_are_not_activity() {
    let mut steps = vnc_auth_38();
    steps.truncate(9);
    steps.push(C(fbur()));
    steps.push(C(fbur()));
    let (o, events, active) = play(&steps, 4);
    assert_eq!(o.phase(), &Phase::Normal);
    assert!(events.is_empty());
    assert_eq!(active, 0);
}

#[test]
fn follows_33_and_37_without_auth() {
    let v33 = vec![
        S(b"RFB 003.003\n".to_vec()),
        C(b"RFB 003.003\n".to_vec()),
        S(vec![0, 0, 0, 1]),
        C(vec![0]),
        S(server_init(b"")),
        C(key(true, 0xff0d)),
    ];
    let (o, events, _) = play(&v33, 3);
    assert_eq!(o.phase(), &Phase::Normal);
    assert_eq!(o.secret_bytes(), 0);
    assert_eq!(events.len(), 1);

    let v37 = vec![
        S(b"RFB 003.007\n".to_vec()),
        C(b"RFB 003.007\n".to_vec()),
        S(vec![1, 1]),
        C(vec![1]),
        C(vec![1]),
        S(server_init(b"x")),
        C(key(true, 0x20)),
    ];
    let (o, events, _) = play(&v37, 1);
    assert_eq!(o.phase(), &Phase::Normal);
    assert_eq!(o.server_init().map(|i| i.name.as_str()), Some("x"));
    assert_eq!(events.len(), 1);
}

#[test]
fn a_33_vnc_auth_challenge_and_response_are_secret() {
    let v33 = vec![
        S(b"RFB 003.003\n".to_vec()),
        C(b"RFB 003.003\n".to_vec()),
        S(vec![0, 0, 0, 2]),
        S(vec![1; 16]),
        C(vec![2; 16]),
        S(vec![0, 0, 0, 0]),
        C(vec![1]),
        S(server_init(b"vm")),
        C(vec![5, 0, 0, 1, 0, 1]),
    ];
    let (o, events, _) = play(&v33, 5);
    assert_eq!(o.phase(), &Phase::Normal);
    assert_eq!(o.secret_bytes(), 32);
    assert_eq!(events.len(), 1);
}

#[test]
fn a_refused_password_is_failed() {
    let mut steps = vnc_auth_38();
    steps.truncate(6);
    let mut result = vec![0, 0, 0, 1];
    result.extend_from_slice(&14u32.to_be_bytes());
    result.extend_from_slice(b"Authentication");
    steps.push(S(result));
    let (o, _, _) = play(&steps, 2);
    assert_eq!(o.phase(), &Phase::Failed);
    assert!(o.server_settled());
}

#[test]
fn an_unknown_security_type_is_opaque_and_every_byte_counts() {
    let steps = vec![
        S(b"RFB 003.008\n".to_vec()),
        C(b"RFB 003.008\n".to_vec()),
        S(vec![1, 19]),
        C(vec![19]),
        C(vec![0, 2, 0, 1, 2, 3]),
    ];
    let (o, events, active) = play(&steps, 64);
    assert!(matches!(o.phase(), Phase::Opaque(_)));
    assert!(events.is_empty());
    assert_eq!(active, 6);
    assert!(o.server_settled());
}

#[test]
fn an_unknown_message_type_is_opaque() {
    let mut steps = vnc_auth_38();
    steps.truncate(9);
    steps.push(C(vec![77, 1, 2, 3]));
    steps.push(C(key(true, 0x61)));
    let (o, events, active) = play(&steps, 64);
    assert!(matches!(o.phase(), Phase::Opaque(why) if why.contains("77")));
    assert!(events.is_empty());
    assert_eq!(
        active, 12,
        "from the unknown type on, every byte counts as activity"
    );
}

#[test]
fn garbage_is_opaque_not_a_panic() {
    let mut o = Observer::new();
    o.server_bytes(b"HTTP/1.1 200 OK\r\n\r\n");
    assert!(matches!(o.phase(), Phase::Opaque(_)));
    let mut o = Observer::new();
    o.client_bytes(&[0xff; 100], |_| {});
    assert!(matches!(o.phase(), Phase::Opaque(_)));
}

#[test]
fn a_long_desktop_name_is_cut() {
    let name = vec![b'n'; 10_000];
    let steps = vec![
        S(b"RFB 003.008\n".to_vec()),
        C(b"RFB 003.008\n".to_vec()),
        S(vec![1, 1]),
        C(vec![1]),
        S(vec![0, 0, 0, 0]),
        C(vec![0]),
        S(server_init(&name)),
    ];
    let (o, _, _) = play(&steps, 1000);
    assert_eq!(o.phase(), &Phase::Normal);
    assert_eq!(
        o.server_init().map(|i| i.name.len()),
        Some(MAX_DESKTOP_NAME)
    );
}
