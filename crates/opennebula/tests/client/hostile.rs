//! Replies built to hurt the client: each must give a typed error and leave the process alive
//! (security review finding 1: nested values used to overflow the stack and abort the app).

use onedeck_opennebula::{Client, Credentials, Endpoint, Error, VmId};

use crate::server::{Reply, Server};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const LEVELS: usize = 100_000;

async fn vm_info_of(body: String) -> Result<onedeck_opennebula::Vm, Error> {
    let server = Server::start(move |_| Reply::xml(body.clone()))
        .await
        .map_err(|e| Error::Config(e.to_string()))?;
    Client::new(
        Endpoint::new(&server.url),
        Credentials::new("alice", "alice"),
    )?
    .vm_info(VmId(0))
    .await
}

fn reply_with(value: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><methodResponse><params><param>{value}</param></params></methodResponse>"
    )
}

fn assert_too_deep(result: Result<onedeck_opennebula::Vm, Error>) {
    match result {
        Err(Error::Decode(d)) => assert!(d.reason.contains("too deep"), "{d}"),
        other => panic!("expected a Decode error saying too deep, got {other:?}"),
    }
}

#[tokio::test]
async fn nested_arrays_are_refused_not_recursed_into() -> TestResult {
    let value = format!(
        "{}<value><i4>1</i4></value>{}",
        "<value><array><data>".repeat(LEVELS),
        "</data></array></value>".repeat(LEVELS)
    );
    assert_too_deep(vm_info_of(reply_with(&value)).await);
    Ok(())
}

#[tokio::test]
async fn nested_structs_are_refused_not_recursed_into() -> TestResult {
    let value = format!(
        "{}<value><i4>1</i4></value>{}",
        "<value><struct><member><name>m</name>".repeat(LEVELS),
        "</member></struct></value>".repeat(LEVELS)
    );
    assert_too_deep(vm_info_of(reply_with(&value)).await);
    Ok(())
}

#[tokio::test]
async fn nested_template_attributes_are_refused_not_recursed_into() -> TestResult {
    // A well-formed VM document whose USER_TEMPLATE nests 100,000 elements.
    let doc = format!(
        "<VM><ID>0</ID><UID>2</UID><GID>100</GID><UNAME>alice</UNAME><GNAME>devs</GNAME><NAME>x</NAME><STATE>8</STATE><LCM_STATE>0</LCM_STATE><TEMPLATE></TEMPLATE><USER_TEMPLATE>{}x{}</USER_TEMPLATE></VM>",
        "<A>".repeat(LEVELS),
        "</A>".repeat(LEVELS)
    );
    let escaped = doc.replace('<', "&lt;").replace('>', "&gt;");
    let body = reply_with(&format!(
        "<value><array><data><value><boolean>1</boolean></value><value><string>{escaped}</string></value><value><i4>0</i4></value></data></array></value>"
    ));
    assert_too_deep(vm_info_of(body).await);
    Ok(())
}
