//! The client library a node links, against real appliances on loopback.

mod common;

use std::time::Duration;

use common::{assert_verdicts, request, Appliance};
use vigil_client::{Client, ClientConfig};
use vigil_core::Profile;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_and_pipelined_verdicts_equal_the_oracle() {
    let app = Appliance::start(&[]).await;
    let client = Client::connect(ClientConfig::new([app.url()]))
        .await
        .unwrap();
    let mut id = 0;
    for profile in Profile::ALL {
        for solana in [false, true] {
            id += 1;
            let mut req = request(id, profile, 25, 2, solana, id);
            req.want_merkle_root = solana;
            let resp = client.verify(req.clone()).await.unwrap();
            assert_verdicts(&req, &resp);
            assert_eq!(resp.backend, "cpu");
        }
    }
    // Many requests in flight on one stream, answered by id (the caller's ids, even
    // repeated ones, come back as sent).
    let pipeline = client.pipeline().await.unwrap();
    let mut pending = Vec::new();
    for i in 0..24u64 {
        let req = request(
            i % 6,
            Profile::ALL[(i % 3) as usize],
            1 + (i % 7) as usize * 9,
            1,
            i % 2 == 0,
            i,
        );
        let p = pipeline.clone();
        pending.push(tokio::spawn(
            async move { (req.clone(), p.submit(req).await) },
        ));
    }
    for task in pending {
        let (req, resp) = task.await.unwrap();
        assert_verdicts(&req, &resp.unwrap());
    }
    let stats = client.stats();
    assert_eq!(stats.fallbacks, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_appliance_is_skipped_and_the_live_one_serves() {
    let live = Appliance::start(&[]).await;
    // A port that nothing listens on: bind, learn the port, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let mut config = ClientConfig::new([dead_url, live.url()]);
    config.deadline = Duration::from_secs(10);
    let client = Client::connect(config).await.unwrap();
    for i in 0..6u64 {
        let req = request(i, Profile::Strict, 5, 1, false, i);
        let resp = client.verify(req.clone()).await.unwrap();
        assert_verdicts(&req, &resp);
    }
    let stats = client.stats();
    assert!(stats.retries >= 1, "{stats:?}");
    assert_eq!(stats.fallbacks, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_never_stalls_local_fallback_gives_the_same_verdicts() {
    let mut app = Appliance::start(&[]).await;
    let mut config = ClientConfig::new([app.url()]);
    config.local_fallback = true;
    config.fallback_threads = Some(1);
    config.deadline = Duration::from_secs(2);
    let client = Client::connect(config).await.unwrap();
    let req = request(1, Profile::Zip215, 30, 2, true, 1);
    let served = client.verify(req.clone()).await.unwrap();
    assert_eq!(served.backend, "cpu");
    // The appliance goes away; the node keeps verifying, with identical verdicts.
    app.signal(nix::sys::signal::Signal::SIGKILL);
    app.wait_exit(Duration::from_secs(10));
    for profile in Profile::ALL {
        let mut req = request(2, profile, 30, 2, false, 2);
        req.want_merkle_root = true;
        let resp = client.verify(req.clone()).await.unwrap();
        assert_eq!(resp.backend, vigil_client::LOCAL_BACKEND);
        assert_verdicts(&req, &resp);
    }
    assert!(client.stats().fallbacks >= 3);
}
