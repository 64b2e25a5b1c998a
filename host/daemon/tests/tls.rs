//! TLS and mutual TLS, end to end: certificates made for the test, a real appliance.

// Test support functions: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::pki::{leaf, make_ca, tls_client};
use common::{assert_verdicts, request, Appliance};
use rcgen::ExtendedKeyUsagePurpose;
use tonic::transport::Channel;
use vigil_core::Profile;
use vigil_proto::v1::verifier_client::VerifierClient;

struct Pki {
    dir: PathBuf,
    ca_pem: String,
    client: (String, String),
    rogue_client: (String, String),
}

fn pki(tag: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("vigil-tls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = make_ca("vigil test CA");
    let rogue = make_ca("rogue CA");
    let server = leaf(
        &ca,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), &server.0).unwrap();
    std::fs::write(dir.join("server.key"), &server.1).unwrap();
    Pki {
        ca_pem: ca.pem(),
        client: leaf(&ca, &["node-1"], ExtendedKeyUsagePurpose::ClientAuth),
        rogue_client: leaf(&rogue, &["node-x"], ExtendedKeyUsagePurpose::ClientAuth),
        dir,
    }
}

/// An appliance serving TLS with `pki`'s server certificate, with `extra` flags.
fn tls_appliance(pki: &Pki, extra: &[&str]) -> Appliance {
    let mut args = vec![
        "--tls-cert".to_owned(),
        path(&pki.dir, "server.pem"),
        "--tls-key".to_owned(),
        path(&pki.dir, "server.key"),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    Appliance::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

/// Health over TLS is not what common::wait_serving speaks, so wait by trying.
async fn wait_tls_ready(app: &Appliance, ca_pem: &str, identity: Option<&(String, String)>) {
    for _ in 0..600 {
        if let Ok(mut c) = tls_client(app, ca_pem, identity).await {
            if c.devices(vigil_proto::v1::DevicesRequest {}).await.is_ok()
                && c.verify(request(0, Profile::Strict, 1, 1, false, 0))
                    .await
                    .is_ok()
            {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("TLS appliance never became ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_and_plaintext_clients_are_refused() {
    let pki = pki("tls");
    let app = tls_appliance(&pki, &[]);
    wait_tls_ready(&app, &pki.ca_pem, None).await;
    let mut client = tls_client(&app, &pki.ca_pem, None).await.unwrap();
    let req = request(1, Profile::Rfc8032, 10, 2, false, 1);
    let resp = client.verify(req.clone()).await.unwrap().into_inner();
    assert_verdicts(&req, &resp);
    // A plaintext client gets no service.
    let plain = Channel::from_shared(app.url()).unwrap().connect().await;
    if let Ok(channel) = plain {
        let mut c = VerifierClient::new(channel);
        assert!(c.verify(req).await.is_err());
    }
    std::fs::remove_dir_all(&pki.dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_clients_without_an_accepted_certificate() {
    let pki = pki("mtls");
    let app = tls_appliance(&pki, &["--tls-client-ca", &path(&pki.dir, "ca.pem")]);
    wait_tls_ready(&app, &pki.ca_pem, Some(&pki.client)).await;
    let req = request(1, Profile::Strict, 5, 1, true, 1);

    // A client with a certificate from the accepted CA is served.
    let mut good = tls_client(&app, &pki.ca_pem, Some(&pki.client))
        .await
        .unwrap();
    let resp = good.verify(req.clone()).await.unwrap().into_inner();
    assert_verdicts(&req, &resp);

    // No client certificate: refused (at the handshake or on the first call).
    match tls_client(&app, &pki.ca_pem, None).await {
        Err(_) => {}
        Ok(mut c) => assert!(
            c.verify(req.clone()).await.is_err(),
            "served without a certificate"
        ),
    }
    // A certificate from another CA: refused.
    match tls_client(&app, &pki.ca_pem, Some(&pki.rogue_client)).await {
        Err(_) => {}
        Ok(mut c) => assert!(
            c.verify(req.clone()).await.is_err(),
            "served a rogue certificate"
        ),
    }
    // The good client is still served afterwards.
    assert!(good.verify(req).await.is_ok());
    std::fs::remove_dir_all(&pki.dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_that_never_finishes_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pki = pki("handshake");
    let app = tls_appliance(&pki, &["--handshake-timeout-ms", "500"]);
    wait_tls_ready(&app, &pki.ca_pem, None).await;
    // One connection silent, one with the first bytes of a ClientHello only.
    let mut silent = tokio::net::TcpStream::connect(app.grpc).await.unwrap();
    let mut partial = tokio::net::TcpStream::connect(app.grpc).await.unwrap();
    partial.write_all(&[0x16, 0x03, 0x01, 0x00]).await.unwrap();
    for stream in [&mut silent, &mut partial] {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("the server should close a stalled handshake");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
    // Served as before.
    let mut client = tls_client(&app, &pki.ca_pem, None).await.unwrap();
    let req = request(1, Profile::Strict, 4, 1, false, 1);
    assert_verdicts(
        &req,
        &client.verify(req.clone()).await.unwrap().into_inner(),
    );
    std::fs::remove_dir_all(&pki.dir).unwrap();
}

/// Writes a new server certificate and key, from a new CA, over the appliance's files;
/// returns that CA's PEM.
fn new_server_pair(dir: &Path) -> String {
    let ca = make_ca("renewed CA");
    let (cert, key) = leaf(
        &ca,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    std::fs::write(dir.join("server.pem"), cert).unwrap();
    std::fs::write(dir.join("server.key"), key).unwrap();
    ca.pem()
}

/// Replaces a file whole (written beside it, then renamed), as a deployment tool or a
/// Kubernetes Secret mount does: the appliance's periodic check never sees half a file.
fn replace(dir: &Path, name: &str, text: &str) {
    let staged = dir.join(format!(".{name}.new"));
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(staged, dir.join(name)).unwrap();
}

/// Waits (at most 20 s) until a new connection with `ca_pem` and `identity` is served.
async fn wait_served_with(app: &Appliance, ca_pem: &str, identity: Option<&(String, String)>) {
    let req = request(7, Profile::Strict, 2, 1, false, 7);
    for _ in 0..200 {
        if let Ok(mut c) = tls_client(app, ca_pem, identity).await {
            if c.verify(req.clone()).await.is_ok() {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the reloaded TLS files never served a new connection");
}

/// Whether a new connection with `ca_pem` and `identity` is refused.
async fn refused_with(app: &Appliance, ca_pem: &str, identity: Option<&(String, String)>) -> bool {
    match tls_client(app, ca_pem, identity).await {
        Err(_) => true,
        Ok(mut c) => c
            .verify(request(8, Profile::Strict, 1, 1, false, 8))
            .await
            .is_err(),
    }
}

fn reloads(app: &Appliance, trigger: &str, result: &str) -> f64 {
    let samples = common::parse_prometheus(&app.metrics_text()).unwrap();
    common::metric_sum(
        &samples,
        "vigil_tls_reloads_total",
        &[("trigger", trigger), ("result", result)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_and_open_connections_keep_theirs() {
    let pki = pki("sighup");
    let app = tls_appliance(&pki, &["--tls-reload-interval-secs", "0"]);
    wait_tls_ready(&app, &pki.ca_pem, None).await;
    let mut open = tls_client(&app, &pki.ca_pem, None).await.unwrap();
    let req = request(1, Profile::Strict, 6, 1, true, 1);
    assert_verdicts(&req, &open.verify(req.clone()).await.unwrap().into_inner());

    let renewed_ca = new_server_pair(&pki.dir);
    // Changed files alone do nothing with checks off ...
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(refused_with(&app, &renewed_ca, None).await);
    // ... and SIGHUP loads them.
    app.signal(nix::sys::signal::Signal::SIGHUP);
    wait_served_with(&app, &renewed_ca, None).await;
    assert!(refused_with(&app, &pki.ca_pem, None).await);
    // The connection opened before the reload is still served with its old
    // certificate: it trusts only the old CA, so it cannot have reconnected.
    assert_verdicts(&req, &open.verify(req.clone()).await.unwrap().into_inner());
    assert_eq!(reloads(&app, "signal", "ok"), 1.0);
    std::fs::remove_dir_all(&pki.dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_files_reload_without_a_signal_and_bad_ones_are_refused() {
    let pki = pki("filechange");
    let app = tls_appliance(
        &pki,
        &[
            "--tls-client-ca",
            &path(&pki.dir, "ca.pem"),
            "--tls-reload-interval-secs",
            "1",
        ],
    );
    wait_tls_ready(&app, &pki.ca_pem, Some(&pki.client)).await;
    let mut open = tls_client(&app, &pki.ca_pem, Some(&pki.client))
        .await
        .unwrap();
    let req = request(2, Profile::Zip215, 5, 2, false, 2);
    assert!(open.verify(req.clone()).await.is_ok());

    // The client CA changes: clients of the new CA are served, those of the old one
    // refused, and the connection already open carries on.
    let new_client_ca = make_ca("new client CA");
    let new_client = leaf(
        &new_client_ca,
        &["node-2"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    replace(&pki.dir, "ca.pem", &new_client_ca.pem());
    wait_served_with(&app, &pki.ca_pem, Some(&new_client)).await;
    assert!(refused_with(&app, &pki.ca_pem, Some(&pki.client)).await);
    assert_verdicts(&req, &open.verify(req.clone()).await.unwrap().into_inner());
    assert_eq!(reloads(&app, "file", "ok"), 1.0);

    // A damaged key is refused; the loaded files serve on.
    replace(&pki.dir, "server.key", "not a key");
    let mut failing = false;
    for _ in 0..100 {
        let samples = common::parse_prometheus(&app.metrics_text()).unwrap();
        if common::metric_sum(&samples, "vigil_tls_reload_failing", &[]) == 1.0 {
            failing = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(failing, "a damaged key was not reported");
    assert_eq!(reloads(&app, "file", "error"), 1.0);
    wait_served_with(&app, &pki.ca_pem, Some(&new_client)).await;
    std::fs::remove_dir_all(&pki.dir).unwrap();
}
