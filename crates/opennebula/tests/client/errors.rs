//! Every error path through a real HTTP exchange on loopback.

use onedeck_opennebula::{
    Client, Credentials, DEFAULT_MAX_REPLY_BYTES, Endpoint, Error, TransportError, Vm, VmId,
    decode_response_document,
};

use crate::server::{Body, Reply, Server, response};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn client_for(url: &str) -> Result<Client, Error> {
    Client::new(Endpoint::new(url), Credentials::new("alice", "alice"))
}

async fn vm_info_via(reply: impl Fn() -> Reply + Send + Sync + 'static) -> Result<Vm, Error> {
    let server = Server::start(move |_| reply())
        .await
        .map_err(|e| Error::Config(e.to_string()))?;
    client_for(&server.url)?.vm_info(VmId(0)).await
}

fn envelope(inner_escaped: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n<value><boolean>1</boolean></value>\r\n<value><string>{inner_escaped}</string></value>\r\n<value><i4>0</i4></value>\r\n</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n"
    )
}

fn failure(code: i32, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n<param><value><array><data>\r\n<value><boolean>0</boolean></value>\r\n<value><string>{message}</string></value>\r\n<value><i4>{code}</i4></value>\r\n<value><i4>-1</i4></value>\r\n<value><i8>-1</i8></value>\r\n</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n"
    )
}

#[tokio::test]
async fn http_401_and_500() -> TestResult {
    for status in [401u16, 500] {
        let r = vm_info_via(move || Reply {
            status,
            content_type: "text/plain",
            body: Body::Bytes(b"no".to_vec()),
        })
        .await;
        match r {
            Err(Error::Transport(TransportError::HttpStatus { status: s })) => {
                assert_eq!(s, status)
            }
            other => panic!("HTTP {status}: expected HttpStatus, got {other:?}"),
        }
    }
    Ok(())
}

#[tokio::test]
async fn html_login_page_is_not_xml() -> TestResult {
    let page =
        b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Login</body></html>"
            .to_vec();
    let r = vm_info_via(move || Reply {
        status: 200,
        content_type: "text/html; charset=utf-8",
        body: Body::Bytes(page.clone()),
    })
    .await;
    match r {
        Err(e @ Error::Transport(TransportError::NotXml { .. })) => {
            let shown = e.to_string();
            assert!(
                shown.contains("text/html") && shown.contains("Sign in"),
                "{shown}"
            );
            assert_eq!(e.kind(), "network");
        }
        other => panic!("expected NotXml, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn truncated_reply_names_the_element() -> TestResult {
    let full = response("one.vm.info.oneadmin-disk-nic");
    let cut = full[..full.len() / 2].to_vec();
    match vm_info_via(move || Reply::xml(cut.clone())).await {
        Err(Error::Decode(d)) => {
            assert_eq!(d.document, "XML-RPC reply");
            assert!(
                d.path
                    .starts_with("methodResponse/params/param/value/array/data"),
                "{d}"
            );
            assert!(d.line >= 1 && d.column >= 1);
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    // A document cut inside the string: the envelope is whole, the VM is not.
    let doc =
        "&lt;VM&gt;&lt;ID&gt;1&lt;/ID&gt;&lt;STATE&gt;3&lt;/STATE&gt;&lt;TEMPLATE&gt;&lt;CPU&gt;1";
    let body = envelope(doc);
    match vm_info_via(move || Reply::xml(body.clone())).await {
        Err(Error::Decode(d)) => {
            assert_eq!(d.document, "VM document");
            assert!(
                d.reason.contains("truncated") || d.reason.contains("ends"),
                "{d}"
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn wrong_types_name_element_and_position() -> TestResult {
    let doc = "&lt;VM&gt;&lt;ID&gt;1&lt;/ID&gt;&lt;STATE&gt;3&lt;/STATE&gt;&lt;TEMPLATE&gt;&lt;CPU&gt;lots&lt;/CPU&gt;&lt;/TEMPLATE&gt;&lt;/VM&gt;";
    let body = envelope(doc);
    match vm_info_via(move || Reply::xml(body.clone())).await {
        Err(Error::Decode(d)) => {
            assert_eq!(d.path, "VM/TEMPLATE/CPU");
            assert_eq!((d.line, d.column), (1, 41), "{d}: the column of <CPU>");
            assert!(d.reason.contains("\"lots\""), "{d}");
            assert!(d.to_string().contains("VM/TEMPLATE/CPU"), "{d}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    // Envelope-level: the status flag is not a boolean.
    let body = response("one.vm.info.oneadmin-disk-nic");
    let text =
        String::from_utf8(body)?.replacen("<boolean>1</boolean>", "<boolean>yes</boolean>", 1);
    match vm_info_via(move || Reply::xml(text.clone())).await {
        Err(Error::Decode(d)) => assert!(d.reason.contains("boolean"), "{d}"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    // A success whose result is an integer where a document was expected.
    let int_reply = response("one.vm.action.poweroff");
    match vm_info_via(move || Reply::xml(int_reply.clone())).await {
        Err(Error::Decode(d)) => assert!(d.reason.contains("VM document"), "{d}"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn faults_are_typed() -> TestResult {
    let cases = [
        (
            "error.missing_param.one.vm.info",
            -501,
            "Not enough parameters",
        ),
        (
            "error.wrong_type.one.vm.info.id-as-string",
            -501,
            "Parameter that is supposed to be integer is not",
        ),
        (
            "error.unknown_method",
            -506,
            "Method 'one.vm.nosuchmethod' not defined",
        ),
    ];
    for (stem, code, text) in cases {
        let bytes = response(stem);
        match vm_info_via(move || Reply::xml(bytes.clone())).await {
            Err(e @ Error::Fault { .. }) => {
                assert_eq!(e.code(), Some(code), "{stem}");
                assert!(e.to_string().contains(text), "{stem}: {e}");
                assert_eq!(e.kind(), "fault");
            }
            other => panic!("{stem}: expected a fault, got {other:?}"),
        }
    }
    Ok(())
}

#[tokio::test]
async fn each_oned_error_code() -> TestResult {
    // Real captures for the codes a 7.4.0 oned produced...
    let captured = [
        (
            "error.authentication.one.vm.info.wrong-password",
            "authentication",
            256,
        ),
        (
            "error.authorization.one.vm.info.alice-reads-bob",
            "authorization",
            512,
        ),
        ("error.missing_vm.one.vm.info", "notFound", 1024),
        (
            "error.wrong_state.one.vm.action.suspend-poweroff",
            "wrongState",
            2048,
        ),
        (
            "error.bad_state.one.vmpool.info.state12",
            "badRequest",
            4096,
        ),
        ("one.vmpool.info.kv-filter-sqlite", "internal", 8192),
    ];
    for (stem, kind, code) in captured {
        let bytes = response(stem);
        let e = vm_info_via(move || Reply::xml(bytes.clone()))
            .await
            .err()
            .ok_or(stem)?;
        assert_eq!((e.kind(), e.code()), (kind, Some(code)), "{stem}: {e}");
        assert!(
            e.oned().is_some_and(|o| o.message.starts_with('[')),
            "{stem}: oned's text is kept"
        );
    }
    // ...and the ones it did not, in the same wire shape.
    let synthetic = [
        (
            16384,
            "allocate",
            "[one.template.instantiate] Error allocating a new virtual machine.",
        ),
        (
            32768,
            "locked",
            "[one.vm.action] The resource VM is locked. [42].",
        ),
        (
            65536,
            "replication",
            "[one.vm.action] Error replicating log entry 7",
        ),
    ];
    for (code, kind, message) in synthetic {
        let body = failure(code, message);
        let e = vm_info_via(move || Reply::xml(body.clone()))
            .await
            .err()
            .ok_or(kind)?;
        assert_eq!((e.kind(), e.code()), (kind, Some(code)));
        assert_eq!(e.oned().map(|o| o.message.as_str()), Some(message));
    }
    let not_found = vm_info_via(|| Reply::xml(response("error.missing_vm.one.vm.info")))
        .await
        .err()
        .ok_or("1024")?;
    assert_eq!(
        not_found.oned().and_then(|o| o.object_id),
        Some(999_999),
        "NO_EXISTS carries the requested id"
    );
    Ok(())
}

const LAUGHS: &str = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>"#;

#[tokio::test]
async fn billion_laughs_is_refused_at_the_doctype() -> TestResult {
    // In the envelope itself.
    let body = format!(
        "{LAUGHS}<methodResponse><params><param><value><string>&lol9;</string></value></param></params></methodResponse>"
    );
    match vm_info_via(move || Reply::xml(body.clone())).await {
        Err(Error::Decode(d)) => assert!(d.reason.contains("DOCTYPE"), "{d}"),
        other => panic!("expected the DOCTYPE to be refused, got {other:?}"),
    }
    // Inside the document oned's string carries.
    let inner = format!("{LAUGHS}<VM><ID>&lol9;</ID></VM>")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let body = envelope(&inner);
    match vm_info_via(move || Reply::xml(body.clone())).await {
        Err(Error::Decode(d)) => {
            assert_eq!(d.document, "VM document");
            assert!(d.reason.contains("DOCTYPE"), "{d}");
        }
        other => panic!("expected the DOCTYPE to be refused, got {other:?}"),
    }
    // An undeclared entity (no DTD at all) is an error too, never passed through.
    let inner = "&lt;VM&gt;&lt;ID&gt;&amp;lol9;&lt;/ID&gt;&lt;/VM&gt;";
    assert!(matches!(
        decode_response_document::<Vm>(&envelope(inner)),
        Err(Error::Decode(_))
    ));
    Ok(())
}

#[tokio::test]
async fn oversized_replies_are_refused_without_reading_them_whole() -> TestResult {
    const TOTAL: u64 = 200 * 1024 * 1024;
    // Declared by Content-Length: refused before the body is read.
    let server = Server::start(|_| Reply {
        status: 200,
        content_type: "text/xml",
        body: Body::Filler {
            total: TOTAL,
            declare_length: true,
        },
    })
    .await?;
    match client_for(&server.url)?.vm_info(VmId(0)).await {
        Err(e @ Error::Transport(TransportError::TooLarge { .. })) => {
            assert!(e.to_string().contains("page the pool"), "{e}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    drop(server);
    // Streamed without a length: the client stops at its cap instead of buffering 200 MB.
    let server = Server::start(|_| Reply {
        status: 200,
        content_type: "text/xml",
        body: Body::Filler {
            total: TOTAL,
            declare_length: false,
        },
    })
    .await?;
    let mut endpoint = Endpoint::new(server.url.clone());
    endpoint.max_reply_bytes = 16 * 1024 * 1024;
    let c = Client::new(endpoint, Credentials::new("alice", "alice"))?;
    match c.vm_info(VmId(0)).await {
        Err(Error::Transport(TransportError::TooLarge { limit })) => {
            assert_eq!(limit, 16 * 1024 * 1024)
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let sent = server.written.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        sent < TOTAL,
        "the client hung up after {sent} bytes instead of reading all {TOTAL}"
    );
    assert_eq!(DEFAULT_MAX_REPLY_BYTES, 128 * 1024 * 1024);
    Ok(())
}

#[tokio::test]
async fn refused_connection_and_timeout() -> TestResult {
    // A port that was just free: nothing listens there any more.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/RPC2", listener.local_addr()?);
    drop(listener);
    match client_for(&url)?.vm_info(VmId(0)).await {
        Err(e @ Error::Transport(TransportError::Connect { .. })) => assert!(e.is_retryable()),
        other => panic!("expected Connect, got {other:?}"),
    }
    // A server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut endpoint = Endpoint::new(format!("http://{}/RPC2", listener.local_addr()?));
    endpoint.timeout_secs = 1;
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            open.push(sock);
        }
    });
    let r = Client::new(endpoint, Credentials::new("alice", "alice"))?
        .vm_info(VmId(0))
        .await;
    hold.abort();
    match r {
        Err(e @ Error::Transport(TransportError::Timeout)) => assert_eq!(e.kind(), "timeout"),
        other => panic!("expected Timeout, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn session_string_is_user_colon_secret() -> TestResult {
    let server = Server::replay(response("one.user.info.self-alice")).await?;
    let c = Client::new(
        Endpoint::new(server.url.clone()),
        Credentials::new("alice", "pa:ss<&>"),
    )?;
    c.user_info_self().await?;
    let body = &server.requests()[0];
    assert!(
        body.contains("<string>alice:pa:ss&lt;&amp;&gt;</string>"),
        "{body}"
    );
    assert!(
        !format!("{c:?}").contains("pa:ss"),
        "Debug of the client shows no secret"
    );
    Ok(())
}
