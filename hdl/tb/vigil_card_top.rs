//! Testbench of `hdl/rtl/vigil_card_top.sv`: the whole card, as the host sees it.
//!
//! References: `vigil_core::merkle` (the CPU oracle) for Merkle roots, `sha2` and
//! `curve25519-dalek` for SHA512_K, and the register map read from the generated
//! package (`hdl/rtl/vigil_card_regs_pkg.sv`) for offsets and codes. Frames are encoded
//! here from the documented framing, not with the driver's code, so the driver and the
//! card are each checked against the documentation.
//!
//! - Registers: identity, version, build hash, capabilities and limits, scratch with
//!   byte strobes done by the host side, read-only registers ignore writes, unmapped
//!   offsets read 0, CONTROL.ENABLE gates requests (DISABLED answers).
//! - Random traffic: hundreds of mixed requests (Merkle roots, nodes, SHA512_K, and
//!   every kind of bad request) with random tags, under random stalls on the request
//!   stream and random backpressure on the response stream; every response is checked
//!   exactly, matched by tag; the response stream never breaks its AXI-Stream contract.
//! - Out-of-order completion: a SHA512_K sent after a large Merkle request is answered
//!   first.
//! - Counters: requests, responses, errors, last error, compressions, busy cycles, and
//!   CLEAR_COUNTERS.
//! - The socket server: the protocol of `vigil_hdl_sim::card` end to end.
//! - The card with 2 verification engines and 2 SHA-512 cores (the build's other model):
//!   its VERIFY_SLOTS, VERIFY under every profile and every VERIFY error, random mixed
//!   traffic under stalls, and that it verifies signatures at about twice the rate
//!   (cycles per verification for 1 and 2 engines, for hdl/README.md).
//! - The long run: random honest and broken signatures under every profile through the
//!   card with the most engines, its whole window in flight (`VIGIL_CARD_LONG=10000` for
//!   the run hdl/README.md documents; a short one in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use curve25519_dalek::Scalar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha512};
use vigil_core::batch::Leaves;
use vigil_core::profile::{reference_verify, Profile};
use vigil_hdl_sim::card::{self, Card, SimCard};
use vigil_hdl_sim::rtl::{card_regs_pkg, Package};
use vigil_hdl_sim::Traffic;
use vigil_ucode::cases;

const WAIT: Duration = Duration::from_secs(60);

struct Map(Package);

impl Map {
    fn load() -> Map {
        Map(card_regs_pkg().unwrap_or_else(|e| panic!("{e}")))
    }
    fn reg(&self, name: &str) -> u32 {
        u32::try_from(self.0.int(&format!("Reg{name}")).unwrap()).unwrap()
    }
    fn code(&self, name: &str) -> u8 {
        u8::try_from(self.0.int(name).unwrap()).unwrap()
    }
    fn int(&self, name: &str) -> u64 {
        self.0.int(name).unwrap()
    }
}

fn new_card() -> Card {
    Card::new().unwrap_or_else(|e| panic!("{e}"))
}

fn card_with(engines: u32) -> Card {
    Card::with_engines(engines).unwrap_or_else(|e| panic!("{e}"))
}

/// VERIFY_SLOTS's fields: (engines, contexts per engine, SHA-512 cores).
fn verify_slots(card: &mut Card, map: &Map) -> (u32, u32, u32) {
    let v = card.read32(map.reg("VerifySlots")).unwrap();
    let field = |name: &str| (v >> map.int(&format!("VerifySlots{name}Lsb"))) & 0xFF;
    (field("Engines"), field("Contexts"), field("Sha512Cores"))
}

fn enable(card: &mut Card, map: &Map) {
    let bit = 1u32 << map.int("ControlEnableLsb");
    card.write32(map.reg("Control"), bit).unwrap();
}

fn bytes_to_words(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    let pad = (8 - bytes.len() % 8) % 8;
    out.extend(std::iter::repeat_n(0u8, pad));
}

fn header(op: u8, tag: u32) -> [u8; 8] {
    (u64::from(op) | (u64::from(tag) << 32)).to_le_bytes()
}

fn merkle_frame(op: u8, tag: u32, leaves: &[Vec<u8>]) -> Vec<u8> {
    let mut f = header(op, tag).to_vec();
    f.extend_from_slice(&(leaves.len() as u64).to_le_bytes());
    for leaf in leaves {
        f.extend_from_slice(&(leaf.len() as u64).to_le_bytes());
        bytes_to_words(&mut f, leaf);
    }
    f
}

fn nodes_frame(op: u8, tag: u32, nodes: &[[u8; 32]]) -> Vec<u8> {
    let mut f = header(op, tag).to_vec();
    f.extend_from_slice(&(nodes.len() as u64).to_le_bytes());
    for n in nodes {
        f.extend_from_slice(n);
    }
    f
}

fn sha_frame(op: u8, tag: u32, msg: &[u8]) -> Vec<u8> {
    let mut f = header(op, tag).to_vec();
    f.extend_from_slice(&(msg.len() as u64).to_le_bytes());
    bytes_to_words(&mut f, msg);
    f
}

fn verify_frame(
    op: u8,
    tag: u32,
    profile: u8,
    pk: &[u8; 32],
    sig: &[u8; 64],
    msg: &[u8],
) -> Vec<u8> {
    let mut f = header(op, tag).to_vec();
    f.extend_from_slice(&(msg.len() as u64 | (u64::from(profile) << 32)).to_le_bytes());
    f.extend_from_slice(&sig[32..]);
    f.extend_from_slice(&sig[..32]);
    f.extend_from_slice(pk);
    bytes_to_words(&mut f, msg);
    f
}

fn profile_code(p: Profile) -> u8 {
    vigil_ucode::cases::profile_code(p)
}

/// The response a VERIFY of this signature must get.
fn verify_want(op: u8, p: Profile, c: &cases::Case) -> Response {
    let valid = reference_verify(p, &c.pk, &c.sig, &c.msg);
    Response {
        op,
        status: 0,
        payload: u64::from(valid).to_le_bytes().to_vec(),
    }
}

/// A decoded response: (opcode, status, payload).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Response {
    op: u8,
    status: u8,
    payload: Vec<u8>,
}

fn decode(frame: &[u8]) -> (u32, Response) {
    assert!(
        frame.len() >= 8 && frame.len().is_multiple_of(8),
        "frame {frame:x?}"
    );
    let h = u64::from_le_bytes(frame[..8].try_into().unwrap());
    let words = ((h >> 16) & 0xFFFF) as usize;
    assert_eq!(frame.len(), 8 * (1 + words), "payload length in header");
    (
        (h >> 32) as u32,
        Response {
            op: (h & 0xFF) as u8,
            status: ((h >> 8) & 0xFF) as u8,
            payload: frame[8..].to_vec(),
        },
    )
}

fn recv(card: &mut Card) -> (u32, Response) {
    card.next_frame_len(WAIT).expect("a response in time");
    decode(&card.take_frame().unwrap())
}

fn leaves_of(data: &[Vec<u8>]) -> Leaves {
    let mut leaves = Leaves::with_capacity(data.len(), 0);
    for d in data {
        leaves.push(d).unwrap();
    }
    leaves
}

fn sha_payload(msg: &[u8]) -> Vec<u8> {
    let digest: [u8; 64] = Sha512::digest(msg).into();
    let k = Scalar::from_bytes_mod_order_wide(&digest).to_bytes();
    [digest.as_slice(), k.as_slice()].concat()
}

#[test]
fn identity_limits_and_register_access() {
    let map = Map::load();
    let mut card = new_card();
    assert_eq!(
        u64::from(card.read32(map.reg("Id")).unwrap()),
        map.int("Magic")
    );
    let version = card.read32(map.reg("Version")).unwrap();
    assert_eq!(
        (u64::from(version >> 16), u64::from(version & 0xFFFF)),
        (map.int("VersionMajor"), map.int("VersionMinor"))
    );
    let hash = u64::from(card.read32(map.reg("BuildHashLo")).unwrap())
        | (u64::from(card.read32(map.reg("BuildHashHi")).unwrap()) << 32);
    assert_eq!(hash, card::BUILD_HASH);
    assert_ne!(hash, 0, "the build passes the source hash to the RTL");
    let caps = card.read32(map.reg("Caps")).unwrap();
    assert_eq!(caps & 0b11, 0b11, "Merkle and SHA-512 engines");
    assert_eq!(card.read32(map.reg("MaxLeaves")).unwrap(), 4096);
    assert_eq!(card.read32(map.reg("MaxLeafBytes")).unwrap(), 65536);
    assert_eq!(card.read32(map.reg("MaxMessageBytes")).unwrap(), 65600);
    assert_eq!(verify_slots(&mut card, &map), (1, 16, 1));
    assert_eq!(
        card.read32(map.reg("VerifySlots")).unwrap() >> 24,
        0,
        "bits 31:24 are reserved"
    );

    // Scratch is read/write; read-only registers ignore writes; unmapped reads are 0.
    card.write32(map.reg("Scratch"), 0xA5A5_0F0F).unwrap();
    assert_eq!(card.read32(map.reg("Scratch")).unwrap(), 0xA5A5_0F0F);
    card.write32(map.reg("Scratch"), 0x1234_5678).unwrap();
    assert_eq!(card.read32(map.reg("Scratch")).unwrap(), 0x1234_5678);
    card.write32(map.reg("Id"), 0).unwrap();
    assert_eq!(
        u64::from(card.read32(map.reg("Id")).unwrap()),
        map.int("Magic")
    );
    assert_eq!(card.read32(0xFFC).unwrap(), 0);

    // Disabled after reset: status says so and requests are answered DISABLED.
    let status = card.read32(map.reg("Status")).unwrap();
    assert_eq!(status & 1, 0);
    assert!(card.send_frame(&sha_frame(map.code("OpcodeSha512K"), 9, b"abc"), WAIT));
    let (tag, r) = recv(&mut card);
    assert_eq!((tag, r.status), (9, map.code("StatusDisabled")));
    assert!(r.payload.is_empty());

    enable(&mut card, &map);
    assert_eq!(card.read32(map.reg("Status")).unwrap() & 1, 1);
    assert_eq!(card.read32(map.reg("Control")).unwrap() & 1, 1);
    assert!(card.send_frame(&sha_frame(map.code("OpcodeSha512K"), 10, b"abc"), WAIT));
    let (tag, r) = recv(&mut card);
    assert_eq!((tag, r.status), (10, 0));
    assert_eq!(r.payload, sha_payload(b"abc"));
    assert!(card.violations().is_empty(), "{:?}", card.violations());
}

/// One request of the random mix and the response it must get.
struct Case {
    frame: Vec<u8>,
    want: Response,
}

fn random_case(rng: &mut ChaCha8Rng, map: &Map, tag: u32) -> Case {
    let op_root = map.code("OpcodeMerkleRoot");
    let op_nodes = map.code("OpcodeMerkleNodes");
    let op_sha = map.code("OpcodeSha512K");
    let op_verify = map.code("OpcodeVerify");
    let ok = |op: u8, payload: Vec<u8>| Response {
        op,
        status: 0,
        payload,
    };
    let err = |op: u8, status: &str| Response {
        op,
        status: map.code(status),
        payload: vec![],
    };
    match rng.gen_range(0..100) {
        0..=29 => {
            let n = rng.gen_range(0..24);
            let leaves: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    let len = rng.gen_range(0..300);
                    (0..len).map(|_| rng.gen()).collect()
                })
                .collect();
            let root = vigil_core::merkle::root(&leaves_of(&leaves));
            Case {
                frame: merkle_frame(op_root, tag, &leaves),
                want: ok(op_root, root.to_vec()),
            }
        }
        30..=44 => {
            let n = rng.gen_range(0..20);
            let nodes: Vec<[u8; 32]> = (0..n).map(|_| rng.gen()).collect();
            Case {
                frame: nodes_frame(op_nodes, tag, &nodes),
                want: ok(op_nodes, vigil_core::merkle::root_of_nodes(&nodes).to_vec()),
            }
        }
        45..=54 => {
            // A signature, honest or broken, under a random profile.
            let all = cases::random_cases(6, rng.gen());
            let c = &all[rng.gen_range(0..all.len())];
            let p = Profile::ALL[rng.gen_range(0..3)];
            Case {
                frame: verify_frame(op_verify, tag, profile_code(p), &c.pk, &c.sig, &c.msg),
                want: verify_want(op_verify, p, c),
            }
        }
        55..=74 => {
            let len = rng.gen_range(0..400);
            let msg: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            Case {
                frame: sha_frame(op_sha, tag, &msg),
                want: ok(op_sha, sha_payload(&msg)),
            }
        }
        75..=79 => {
            // An unknown opcode, with a payload that must be discarded.
            let mut frame = sha_frame(op_sha, tag, b"discarded payload");
            frame[0] = 0x7E;
            Case {
                frame,
                want: err(0x7E, "StatusBadOpcode"),
            }
        }
        80..=83 => {
            // Reserved header bits set.
            let mut frame = sha_frame(op_sha, tag, b"x");
            frame[2] = 1;
            Case {
                frame,
                want: err(op_sha, "StatusBadHeader"),
            }
        }
        84..=87 => {
            // A SHA512_K frame shorter than its length says.
            let mut frame = sha_frame(op_sha, tag, &[7u8; 40]);
            frame.truncate(frame.len() - 8);
            Case {
                frame,
                want: err(op_sha, "StatusFrameShort"),
            }
        }
        88..=91 => {
            // Longer than its length says.
            let mut frame = sha_frame(op_sha, tag, &[7u8; 40]);
            frame.extend_from_slice(&[1u8; 16]);
            Case {
                frame,
                want: err(op_sha, "StatusFrameLong"),
            }
        }
        92..=94 => {
            // Longer than the card's limit (the payload is sent and discarded).
            let mut frame = header(op_sha, tag).to_vec();
            frame.extend_from_slice(&65601u64.to_le_bytes());
            frame.extend_from_slice(&[0u8; 24]);
            Case {
                frame,
                want: err(op_sha, "StatusTooLong"),
            }
        }
        95..=97 => {
            // A Merkle frame that ends inside a leaf.
            let leaves = vec![vec![1u8; 10], vec![2u8; 100]];
            let mut frame = merkle_frame(op_root, tag, &leaves);
            frame.truncate(frame.len() - 16);
            Case {
                frame,
                want: err(op_root, "StatusFrameShort"),
            }
        }
        _ => {
            // A header alone.
            Case {
                frame: header(op_nodes, tag).to_vec(),
                want: err(op_nodes, "StatusFrameShort"),
            }
        }
    }
}

fn random_traffic(seed: u64, requests: usize, traffic: Traffic) {
    random_traffic_on(1, seed, requests, traffic);
}

fn random_traffic_on(engines: u32, seed: u64, requests: usize, traffic: Traffic) {
    let map = Map::load();
    let mut card = card_with(engines);
    enable(&mut card, &map);
    card.set_traffic(traffic);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut want: HashMap<u32, Response> = HashMap::new();
    let mut order = Vec::new();
    for _ in 0..requests {
        let mut tag: u32 = rng.gen();
        while want.contains_key(&tag) {
            tag = rng.gen();
        }
        let case = random_case(&mut rng, &map, tag);
        assert!(
            card.send_frame(&case.frame, WAIT),
            "card stopped taking words"
        );
        want.insert(tag, case.want);
        order.push(tag);
    }
    let mut got_order = Vec::new();
    while !want.is_empty() {
        let (tag, got) = recv(&mut card);
        let expected = want
            .remove(&tag)
            .unwrap_or_else(|| panic!("response with unknown or repeated tag {tag:#x}"));
        assert_eq!(got, expected, "tag {tag:#x}");
        got_order.push(tag);
    }
    assert!(card.next_frame_len(Duration::from_millis(50)).is_none());
    assert!(card.violations().is_empty(), "{:?}", card.violations());
    println!(
        "{engines} engine(s), seed {seed}: {requests} requests, {} answered in another order \
         than sent, {} cycles",
        got_order.iter().zip(&order).filter(|(a, b)| a != b).count(),
        card.cycles()
    );
}

#[test]
fn random_traffic_without_stalls() {
    random_traffic(1, 150, Traffic::FULL);
}

#[test]
fn random_traffic_with_stalls_and_backpressure() {
    random_traffic(2, 150, Traffic::stalls(2));
    random_traffic(
        3,
        100,
        Traffic {
            in_valid_percent: 30,
            out_ready_percent: 20,
            seed: 3,
        },
    );
}

#[test]
fn short_requests_overtake_long_ones() {
    let map = Map::load();
    let mut card = new_card();
    enable(&mut card, &map);
    let leaves: Vec<Vec<u8>> = (0..600u32).map(|i| i.to_le_bytes().repeat(50)).collect();
    let root = vigil_core::merkle::root(&leaves_of(&leaves));
    assert!(card.send_frame(
        &merkle_frame(map.code("OpcodeMerkleRoot"), 1, &leaves),
        WAIT
    ));
    assert!(card.send_frame(&sha_frame(map.code("OpcodeSha512K"), 2, b"quick"), WAIT));
    let (first, r1) = recv(&mut card);
    let (second, r2) = recv(&mut card);
    assert_eq!((first, second), (2, 1), "the SHA-512 answer comes first");
    assert_eq!(r1.payload, sha_payload(b"quick"));
    assert_eq!(r2.payload, root.to_vec());
}

fn read64(card: &mut Card, map: &Map, name: &str) -> u64 {
    let lo = card.read32(map.reg(&format!("{name}Lo"))).unwrap();
    let hi = card.read32(map.reg(&format!("{name}Hi"))).unwrap();
    u64::from(lo) | (u64::from(hi) << 32)
}

#[test]
fn counters_count_and_clear() {
    let map = Map::load();
    let mut card = new_card();
    enable(&mut card, &map);
    let op_root = map.code("OpcodeMerkleRoot");
    // 3 good requests, 2 bad ones.
    let leaves = vec![vec![5u8; 100]; 10];
    assert!(card.send_frame(&merkle_frame(op_root, 1, &leaves), WAIT));
    assert!(card.send_frame(&sha_frame(map.code("OpcodeSha512K"), 2, b"m"), WAIT));
    assert!(card.send_frame(&header(0x55, 3), WAIT));
    assert!(card.send_frame(
        &nodes_frame(map.code("OpcodeMerkleNodes"), 4, &[[1; 32]; 3]),
        WAIT
    ));
    let mut short = merkle_frame(op_root, 5, &leaves);
    short.truncate(40);
    assert!(card.send_frame(&short, WAIT));
    for _ in 0..5 {
        recv(&mut card);
    }
    assert_eq!(card.read32(map.reg("Requests")).unwrap(), 5);
    assert_eq!(card.read32(map.reg("Responses")).unwrap(), 5);
    assert_eq!(card.read32(map.reg("Errors")).unwrap(), 2);
    let last = card.read32(map.reg("LastError")).unwrap();
    assert_eq!(
        (last & 0xFF, (last >> 8) & 0xFF),
        (u32::from(map.code("StatusFrameShort")), u32::from(op_root))
    );
    // 10 leaves of 100 bytes = 2 blocks each (20), 9 nodes, then 2 more nodes.
    let compressions = read64(&mut card, &map, "Compressions");
    assert_eq!(compressions, 20 + 9 + 2);
    let cycles = read64(&mut card, &map, "Cycles");
    let busy = read64(&mut card, &map, "MerkleBusyCycles");
    assert!(busy > 0 && busy < cycles, "busy {busy} of {cycles}");
    assert!(read64(&mut card, &map, "Sha512BusyCycles") > 97);
    assert!(read64(&mut card, &map, "Cycles") > cycles);

    let clear = 1u32 << map.int("ControlClearCountersLsb");
    let en = 1u32 << map.int("ControlEnableLsb");
    card.write32(map.reg("Control"), clear | en).unwrap();
    assert_eq!(card.read32(map.reg("Requests")).unwrap(), 0);
    assert_eq!(read64(&mut card, &map, "Compressions"), 0);
    assert!(read64(&mut card, &map, "Cycles") < 100);
    assert_eq!(
        card.read32(map.reg("Control")).unwrap() & 1,
        1,
        "still enabled"
    );
}

fn cmd(s: &mut UnixStream, bytes: &[u8], reply_len: usize) -> Vec<u8> {
    s.write_all(bytes).unwrap();
    let mut reply = vec![0u8; reply_len];
    s.read_exact(&mut reply).unwrap();
    reply
}

#[test]
fn socket_protocol_end_to_end() {
    let map = Map::load();
    let sim = SimCard::spawn().unwrap_or_else(|e| panic!("{e}"));
    let mut s = UnixStream::connect(sim.socket_path()).unwrap();

    let mut read = vec![card::CMD_READ32];
    read.extend_from_slice(&map.reg("Id").to_le_bytes());
    let r = cmd(&mut s, &read, 5);
    assert_eq!(r[0], card::ST_OK);
    assert_eq!(
        u64::from(u32::from_le_bytes(r[1..5].try_into().unwrap())),
        map.int("Magic")
    );
    // Unaligned and out-of-window offsets.
    for bad in [2u32, 0x1000] {
        let mut read = vec![card::CMD_READ32];
        read.extend_from_slice(&bad.to_le_bytes());
        assert_eq!(cmd(&mut s, &read, 5)[0], card::ST_BAD_ADDRESS);
    }
    let mut write = vec![card::CMD_WRITE32];
    write.extend_from_slice(&map.reg("Control").to_le_bytes());
    write.extend_from_slice(&1u32.to_le_bytes());
    assert_eq!(cmd(&mut s, &write, 1), vec![card::ST_OK]);

    // Nothing pending: C2H times out.
    let mut c2h = vec![card::CMD_C2H];
    c2h.extend_from_slice(&4096u32.to_le_bytes());
    c2h.extend_from_slice(&20u32.to_le_bytes());
    assert_eq!(cmd(&mut s, &c2h, 5), vec![card::ST_TIMEOUT, 0, 0, 0, 0]);

    let frame = sha_frame(map.code("OpcodeSha512K"), 77, b"over the socket");
    let mut h2c = vec![card::CMD_H2C];
    h2c.extend_from_slice(&u32::try_from(frame.len()).unwrap().to_le_bytes());
    h2c.extend_from_slice(&frame);
    assert_eq!(cmd(&mut s, &h2c, 1), vec![card::ST_OK]);
    // Too small a buffer keeps the frame; then it comes whole.
    let mut small = vec![card::CMD_C2H];
    small.extend_from_slice(&8u32.to_le_bytes());
    small.extend_from_slice(&10_000u32.to_le_bytes());
    let r = cmd(&mut s, &small, 5);
    assert_eq!(
        r,
        [&[card::ST_BUFFER_TOO_SMALL][..], &104u32.to_le_bytes()].concat()
    );
    let r = cmd(&mut s, &c2h, 5);
    assert_eq!(r, [&[card::ST_OK][..], &104u32.to_le_bytes()].concat());
    let mut body = vec![0u8; 104];
    s.read_exact(&mut body).unwrap();
    let (tag, resp) = decode(&body);
    assert_eq!((tag, resp.status), (77, 0));
    assert_eq!(resp.payload, sha_payload(b"over the socket"));

    // Reset: back to disabled.
    assert_eq!(cmd(&mut s, &[card::CMD_RESET], 1), vec![card::ST_OK]);
    let mut status = vec![card::CMD_READ32];
    status.extend_from_slice(&map.reg("Status").to_le_bytes());
    assert_eq!(cmd(&mut s, &status, 5)[1] & 1, 0);

    // A bad length ends the connection with BAD_LENGTH; a new one works.
    let mut bad = vec![card::CMD_H2C];
    bad.extend_from_slice(&12u32.to_le_bytes());
    assert_eq!(cmd(&mut s, &bad, 1), vec![card::ST_BAD_LENGTH]);
    let mut s2 = UnixStream::connect(sim.socket_path()).unwrap();
    assert_eq!(cmd(&mut s2, &read, 5)[0], card::ST_OK);
    // An unknown command likewise.
    assert_eq!(cmd(&mut s2, &[0xEE], 1), vec![card::ST_BAD_COMMAND]);
}

/// VERIFY through the whole card (SHA-512 front end, engine, arbiter) against the
/// reference, mixed with SHA512_K requests, and every VERIFY framing error followed by
/// a request that must still be answered right.
#[test]
fn verify_requests_and_their_errors() {
    verify_requests_on(1);
}

fn verify_requests_on(engines: u32) {
    let map = Map::load();
    let mut card = card_with(engines);
    enable(&mut card, &map);
    let caps = card.read32(map.reg("Caps")).unwrap();
    assert_ne!(caps & (1 << map.int("CapsVerifyLsb")), 0);
    assert_eq!(
        verify_slots(&mut card, &map),
        (engines, 16, engines.min(2)),
        "{engines} engine(s) of 16 contexts and as many SHA-512 cores, at most 2 (the models \
         build.rs builds)"
    );
    let op = map.code("OpcodeVerify");
    let op_sha = map.code("OpcodeSha512K");
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let mut want: HashMap<u32, Response> = HashMap::new();
    let mut send = |card: &mut Card, tag: u32, frame: Vec<u8>, w: Response| {
        assert!(card.send_frame(&frame, WAIT), "card stopped taking words");
        want.insert(tag, w);
    };
    let mut tag = 0u32;
    let mut sigs = cases::wycheproof_cases();
    sigs.truncate(20);
    sigs.extend(cases::random_cases(24, 4));
    for (i, c) in sigs.iter().enumerate() {
        let p = Profile::ALL[i % 3];
        tag += 1;
        send(
            &mut card,
            tag,
            verify_frame(op, tag, profile_code(p), &c.pk, &c.sig, &c.msg),
            verify_want(op, p, c),
        );
        if i % 5 == 0 {
            let msg: Vec<u8> = (0..rng.gen_range(0..300)).map(|_| rng.gen()).collect();
            tag += 1;
            let w = Response {
                op: op_sha,
                status: 0,
                payload: sha_payload(&msg),
            };
            send(&mut card, tag, sha_frame(op_sha, tag, &msg), w);
        }
    }
    let c = &sigs[0];
    let err = |status: &str| Response {
        op,
        status: map.code(status),
        payload: vec![],
    };
    let good = verify_frame(op, 0, 0, &c.pk, &c.sig, &c.msg);
    let max = card.read32(map.reg("MaxMessageBytes")).unwrap() as usize;
    let mut bad_frames: Vec<(Vec<u8>, Response)> = Vec::new();
    let mut f = good.clone();
    f[12] = 3; // profile 3
    bad_frames.push((f, err("StatusBadProfile")));
    let mut f = good.clone();
    f[13] = 1; // bit 40 of word 1
    bad_frames.push((f, err("StatusBadHeader")));
    bad_frames.push((
        verify_frame(op, 0, 0, &c.pk, &c.sig, &vec![0u8; max - 63]),
        err("StatusTooLong"),
    ));
    let mut f = good.clone();
    f.truncate(8 * 4); // ends inside S
    bad_frames.push((f, err("StatusFrameShort")));
    let mut f = good.clone();
    f.truncate(8 * 12); // ends inside A
    bad_frames.push((f, err("StatusFrameShort")));
    let mut f = good.clone();
    f.extend_from_slice(&[9u8; 16]);
    bad_frames.push((f, err("StatusFrameLong")));
    bad_frames.push((good[..16].to_vec(), err("StatusFrameShort")));
    for (mut frame, w) in bad_frames {
        tag += 1;
        frame[4..8].copy_from_slice(&tag.to_le_bytes());
        send(&mut card, tag, frame, w);
        tag += 1;
        let p = Profile::Strict;
        send(
            &mut card,
            tag,
            verify_frame(op, tag, 0, &c.pk, &c.sig, &c.msg),
            verify_want(op, p, c),
        );
    }
    // Both verdicts occur.
    let valid = want
        .values()
        .filter(|r| r.op == op && r.payload.first() == Some(&1))
        .count();
    let invalid = want
        .values()
        .filter(|r| r.op == op && r.payload.first() == Some(&0))
        .count();
    assert!(valid > 0 && invalid > 0);
    while !want.is_empty() {
        let (tag, got) = recv(&mut card);
        let expected = want
            .remove(&tag)
            .unwrap_or_else(|| panic!("response with unknown or repeated tag {tag:#x}"));
        assert_eq!(got, expected, "tag {tag}");
    }
    assert!(card.violations().is_empty(), "{:?}", card.violations());
    // Every field operation was counted: each verification issues the same number.
    let ops = read64(&mut card, &map, "FieldOps");
    assert!(ops > 0 && read64(&mut card, &map, "VerifyBusyCycles") > 0);
    let verifies = sigs.len() + 7;
    assert_eq!(
        ops % verifies as u64,
        0,
        "{ops} field operations for {verifies} verifications"
    );
}

/// Cycles for whole requests through the card, no stalls, for hdl/README.md's report.
/// The roots are checked; the figures are printed (`--nocapture`).
#[test]
fn cycles_per_request() {
    let map = Map::load();
    let mut card = new_card();
    enable(&mut card, &map);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for (n, len) in [(1000usize, 64usize), (1000, 200), (1000, 1232), (4096, 200)] {
        let leaves: Vec<Vec<u8>> = (0..n)
            .map(|_| (0..len).map(|_| rng.gen()).collect())
            .collect();
        let frame = merkle_frame(map.code("OpcodeMerkleRoot"), 1, &leaves);
        let start = card.cycles();
        assert!(card.send_frame(&frame, WAIT));
        let (_, r) = recv(&mut card);
        let cycles = card.cycles() - start;
        assert_eq!(
            r.payload,
            vigil_core::merkle::root(&leaves_of(&leaves)).to_vec()
        );
        println!(
            "MERKLE_ROOT {n} leaves x {len} B: {cycles} cycles ({} request words), {:.1} cycles/leaf",
            frame.len() / 8,
            cycles as f64 / n as f64
        );
    }
    let nodes: Vec<[u8; 32]> = (0..4096).map(|_| rng.gen()).collect();
    let start = card.cycles();
    assert!(card.send_frame(&nodes_frame(map.code("OpcodeMerkleNodes"), 2, &nodes), WAIT));
    let (_, r) = recv(&mut card);
    assert_eq!(
        r.payload,
        vigil_core::merkle::root_of_nodes(&nodes).to_vec()
    );
    println!("MERKLE_NODES 4096 nodes: {} cycles", card.cycles() - start);

    // Ed25519-shaped SHA512_K requests back to back: R || A || M with a 232-byte M.
    let msgs: Vec<Vec<u8>> = (0..100)
        .map(|_| (0..296).map(|_| rng.gen()).collect())
        .collect();
    let start = card.cycles();
    for (i, m) in msgs.iter().enumerate() {
        assert!(card.send_frame(
            &sha_frame(map.code("OpcodeSha512K"), u32::try_from(i).unwrap(), m),
            WAIT
        ));
    }
    for _ in 0..msgs.len() {
        let (tag, r) = recv(&mut card);
        assert_eq!(r.payload, sha_payload(&msgs[tag as usize]));
    }
    println!(
        "SHA512_K 100 x 296 B back to back: {:.1} cycles each",
        (card.cycles() - start) as f64 / 100.0
    );

    // VERIFY back to back, 64-byte messages: every context of the engine busy.
    let op = map.code("OpcodeVerify");
    let cs = cases::random_cases(64, 8);
    let start = card.cycles();
    for (i, c) in cs.iter().enumerate() {
        let tag = u32::try_from(i).unwrap();
        assert!(card.send_frame(&verify_frame(op, tag, 0, &c.pk, &c.sig, &c.msg), WAIT));
    }
    for _ in 0..cs.len() {
        let (tag, r) = recv(&mut card);
        assert_eq!(r, verify_want(op, Profile::Strict, &cs[tag as usize]));
    }
    println!(
        "VERIFY 64 signatures back to back: {:.1} cycles each",
        (card.cycles() - start) as f64 / 64.0
    );
}

/// The card with 2 engines and 2 SHA-512 cores: what it reports, and VERIFY (every
/// profile, every error) checked against the reference, as on the default card.
#[test]
fn two_engines_verify_requests_and_their_errors() {
    verify_requests_on(2);
}

/// The card with 4 engines and 2 SHA-512 cores: what it reports, and VERIFY (every
/// profile, every error) checked against the reference.
#[test]
fn four_engines_verify_requests_and_their_errors() {
    verify_requests_on(4);
}

/// The 2-engine card under the random mix (SHA512_K spread over its two cores, VERIFY
/// over its two engines, Merkle, errors), with stalls and backpressure.
#[test]
fn two_engines_random_traffic_with_stalls() {
    random_traffic_on(2, 4, 120, Traffic::stalls(4));
}

/// `n` signatures over messages of `len` bytes, one in four broken (a message bit
/// flipped after signing).
fn signatures(n: usize, len: usize, seed: u64) -> Vec<cases::Case> {
    use ed25519_dalek::Signer;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let key = ed25519_dalek::SigningKey::from_bytes(&rng.gen());
            let mut msg: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let sig = key.sign(&msg).to_bytes();
            if i % 4 == 3 {
                msg[rng.gen_range(0..len)] ^= 1;
            }
            cases::Case {
                name: format!("signed {i}"),
                pk: key.verifying_key().to_bytes(),
                sig,
                msg,
            }
        })
        .collect()
}

/// Cycles for `cs` sent as VERIFY back to back (every verdict checked), and the field
/// operations counted.
fn verify_run(card: &mut Card, map: &Map, p: Profile, cs: &[cases::Case]) -> (u64, u64) {
    let op = map.code("OpcodeVerify");
    let en = 1u32 << map.int("ControlEnableLsb");
    let clear = 1u32 << map.int("ControlClearCountersLsb");
    card.write32(map.reg("Control"), clear | en).unwrap();
    let start = card.cycles();
    for (i, c) in cs.iter().enumerate() {
        let tag = u32::try_from(i).unwrap();
        assert!(card.send_frame(
            &verify_frame(op, tag, profile_code(p), &c.pk, &c.sig, &c.msg),
            WAIT
        ));
    }
    let mut seen = vec![false; cs.len()];
    for _ in 0..cs.len() {
        let (tag, r) = recv(card);
        assert!(
            !std::mem::replace(&mut seen[tag as usize], true),
            "tag {tag} twice"
        );
        assert_eq!(r, verify_want(op, p, &cs[tag as usize]), "tag {tag}");
    }
    let cycles = card.cycles() - start;
    (cycles, read64(card, map, "FieldOps"))
}

/// Cycles per verification at card level, 1, 2 and 4 engines, for R || A || M of 296 and
/// 1,232 bytes (messages of 232 and 1,168 bytes), 128 signatures back to back: the
/// 2-engine card (2 SHA-512 cores) must take at most 0.6 of the cycles of the 1-engine
/// card, the 4-engine card (2 cores) at most 0.7 of the 2-engine card's (128 signatures
/// fill its 64 contexts only twice, so its start weighs more), and all must issue the
/// same field operations. Figures printed (`--nocapture`) for hdl/README.md.
#[test]
fn cycles_per_verification_scale_with_engines() {
    let map = Map::load();
    let n = 128;
    for (len, p) in [(232usize, Profile::Strict), (1168, Profile::Zip215)] {
        let cs = signatures(n, len, len as u64);
        let mut per = Vec::new();
        for engines in [1u32, 2, 4] {
            let mut card = card_with(engines);
            enable(&mut card, &map);
            let (cycles, ops) = verify_run(&mut card, &map, p, &cs);
            let busy = read64(&mut card, &map, "Sha512BusyCycles");
            assert!(card.violations().is_empty(), "{:?}", card.violations());
            let (_, _, cores) = verify_slots(&mut card, &map);
            println!(
                "VERIFY {n} x ({len} + 64) B, {engines} engine(s) of 16 contexts, {cores} \
                 SHA-512 core(s): {cycles} cycles, {:.1} cycles per verification, {ops} field \
                 operations, SHA-512 busy {busy} cycles",
                cycles as f64 / n as f64
            );
            per.push((cycles, ops));
        }
        assert!(
            per.iter().all(|x| x.1 == per[0].1),
            "same field operations on every card: {per:?}"
        );
        assert!(
            per[1].0 * 10 <= per[0].0 * 6,
            "2 engines: {} cycles, 1 engine: {}",
            per[1].0,
            per[0].0
        );
        assert!(
            per[2].0 * 10 <= per[1].0 * 7,
            "4 engines: {} cycles, 2 engines: {}",
            per[2].0,
            per[1].0
        );
    }
}

/// The long run (hdl/README.md): `VIGIL_CARD_LONG` random signatures (default 60, so CI
/// stays short; the documented run is 10,000) through the card with the most engines
/// the build has, the profile cycling strict, rfc8032, zip215, one in three honest and
/// the rest broken in R, S, A, the message or by S + L (`cases::random_cases`), with
/// the card's whole window (engines x contexts) kept in flight. Every verdict must be
/// the reference's; cycles per verification are printed (`--nocapture`).
#[test]
fn long_run_through_the_card_with_the_most_engines() {
    let n: usize = std::env::var("VIGIL_CARD_LONG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let engines = *card::ENGINE_COUNTS.iter().max().unwrap();
    let map = Map::load();
    let mut card = card_with(engines);
    enable(&mut card, &map);
    let (_, contexts, cores) = verify_slots(&mut card, &map);
    let window = usize::try_from(engines * contexts).unwrap();
    let op = map.code("OpcodeVerify");
    let cs = cases::random_cases(n, 2112);
    let profile = |i: usize| Profile::ALL[i % 3];
    let started = std::time::Instant::now();
    let start = card.cycles();
    let (mut sent, mut done, mut valid) = (0usize, 0usize, 0usize);
    let mut seen = vec![false; n];
    while done < n {
        if sent < n && sent - done < window {
            let c = &cs[sent];
            let tag = u32::try_from(sent).unwrap();
            let frame = verify_frame(op, tag, profile_code(profile(sent)), &c.pk, &c.sig, &c.msg);
            assert!(card.send_frame(&frame, WAIT), "request {sent} taken");
            sent += 1;
            continue;
        }
        let (tag, r) = recv(&mut card);
        let i = tag as usize;
        assert!(!std::mem::replace(&mut seen[i], true), "tag {tag} twice");
        let want = verify_want(op, profile(i), &cs[i]);
        valid += usize::from(reference_verify(
            profile(i),
            &cs[i].pk,
            &cs[i].sig,
            &cs[i].msg,
        ));
        assert_eq!(r, want, "{} under {}", cs[i].name, profile(i).name());
        done += 1;
    }
    let cycles = card.cycles() - start;
    assert!(card.violations().is_empty(), "{:?}", card.violations());
    // Both verdicts occur, so agreement is not trivial.
    assert!(valid > 0 && valid < n, "{valid} of {n} valid");
    println!(
        "long run: {n} signatures ({valid} valid) through {engines} engine(s) x {contexts} \
         contexts, {cores} SHA-512 core(s): {cycles} cycles, {:.1} cycles per verification, \
         every verdict the reference's; {:.1} s of simulation",
        cycles as f64 / n as f64,
        started.elapsed().as_secs_f64()
    );
}
