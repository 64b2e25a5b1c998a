//! What an FPGA card sends back, from bytes: the driver's response decoding and its
//! tagged request pipeline, which must survive anything a faulty or hostile card (or a
//! corrupted DMA buffer) can produce with a typed error, never a panic or a hang.
//!
//! The input is used twice:
//!
//! * as one raw response frame for `protocol::decode` and every payload decoder, checking
//!   what decoding promises: the payload has the length the header declares, an error
//!   status never carries a payload, a VERIFY verdict is exactly bit 0;
//! * as a script for a card that answers the identity registers like a good card and then
//!   answers each request from the script: a well-framed response to one of the tags in
//!   flight (status, opcode and payload from the input), a raw frame of input bytes, or
//!   silence. The first byte picks the call (a Merkle root split over several requests,
//!   subtree nodes, SHA512_K, or a window of VERIFY requests). The call must return, and
//!   an `Ok` must have the shape the call promises.

#![no_main]

use std::collections::VecDeque;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vigil_core::{Leaves, Profile};
use vigil_fpga::regs::{fields, opcode, regs, status, MAGIC, VERSION_MAJOR, VERSION_MINOR};
use vigil_fpga::{protocol, Card, Transport, TransportError, VerifyItem};

/// The scripted card: registers of a good card with small limits, frames from the input.
struct Scripted<'a> {
    script: &'a [u8],
    /// (tag, opcode) of every request received and not yet answered by a tagged frame.
    in_flight: VecDeque<(u32, u8)>,
    scratch: u32,
    control: u32,
}

impl Scripted<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.script.split_first()?;
        self.script = rest;
        Some(b)
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let (taken, rest) = self.script.split_at(n.min(self.script.len()));
        self.script = rest;
        taken
    }
}

impl Transport for Scripted<'_> {
    fn read32(&mut self, offset: u32) -> Result<u32, TransportError> {
        Ok(match offset {
            regs::ID => MAGIC,
            regs::VERSION => u32::from(VERSION_MAJOR) << 16 | u32::from(VERSION_MINOR),
            regs::SCRATCH => self.scratch,
            regs::CAPS => {
                1 << fields::CAPS_MERKLE.0 | 1 << fields::CAPS_SHA512.0 | 1 << fields::CAPS_VERIFY.0
            }
            regs::VERIFY_SLOTS => {
                2 << fields::VERIFY_SLOTS_ENGINES.0 | 2 << fields::VERIFY_SLOTS_CONTEXTS.0
            }
            regs::MAX_LEAVES => 4,
            regs::MAX_LEAF_BYTES => 256,
            regs::MAX_MESSAGE_BYTES => 512,
            regs::STATUS => self.control & 1,
            _ => 0,
        })
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError> {
        match offset {
            regs::SCRATCH => self.scratch = value,
            regs::CONTROL => self.control = value,
            _ => {}
        }
        Ok(())
    }

    fn send_frame(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        let mut header = [0u8; 8];
        header.copy_from_slice(&frame[..8]);
        let header = u64::from_le_bytes(header);
        self.in_flight
            .push_back(((header >> 32) as u32, (header & 0xff) as u8));
        Ok(())
    }

    fn recv_frame(&mut self, _timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        let Some(kind) = self.byte() else {
            return Ok(None);
        };
        Ok(match kind % 4 {
            // A well-framed response to a tag in flight, its fields from the script.
            0 | 1 => {
                if self.in_flight.is_empty() {
                    return Ok(None);
                }
                let pick = usize::from(self.byte().unwrap_or(0)) % self.in_flight.len();
                let (tag, mut op) = self.in_flight[pick];
                if kind == 1 {
                    // Keep the tag in flight: a later frame may answer it again.
                    op ^= self.byte().unwrap_or(0) & 7;
                } else {
                    self.in_flight.remove(pick);
                }
                let st = match self.byte().unwrap_or(0) {
                    s if s < 200 => status::OK,
                    s => s - 200,
                };
                let words = usize::from(self.byte().unwrap_or(0) % 16);
                let mut frame = Vec::with_capacity(8 * (words + 1));
                let header = u64::from(op)
                    | u64::from(st) << 8
                    | (words as u64) << 16
                    | u64::from(tag) << 32;
                frame.extend_from_slice(&header.to_le_bytes());
                let payload = self.bytes(8 * words).to_vec();
                frame.extend_from_slice(&payload);
                frame.resize(8 * (words + 1), 0);
                Some(frame)
            }
            // Raw bytes, framed or not.
            2 => {
                let len = usize::from(self.byte().unwrap_or(0));
                Some(self.bytes(len).to_vec())
            }
            // Silence: the card's response timeout.
            _ => None,
        })
    }

    fn describe(&self) -> String {
        "scripted card".into()
    }
}

/// The raw frame through the decoders.
fn decode_checks(data: &[u8]) {
    let Ok(response) = protocol::decode(data) else {
        return;
    };
    let header = u64::from_le_bytes(data[..8].try_into().unwrap());
    assert_eq!(response.tag, (header >> 32) as u32);
    assert_eq!(response.payload.len(), data.len() / 8 - 1);
    assert_eq!(response.payload.len() as u64, (header >> 16) & 0xffff);
    if response.status != status::OK {
        assert!(response.payload.is_empty());
        assert!(response.clone().into_result().is_err());
    }
    let payload = &response.payload;
    for op in [opcode::MERKLE_ROOT, opcode::MERKLE_NODES] {
        if protocol::payload_root(op, payload).is_ok() {
            assert_eq!(payload.len(), 4);
        }
    }
    if protocol::payload_sha512_k(payload).is_ok() {
        assert_eq!(payload.len(), 12);
    }
    if let Ok(valid) = protocol::payload_verify(payload) {
        assert_eq!(payload, &[u64::from(valid)]);
    }
}

fuzz_target!(|data: &[u8]| {
    decode_checks(data);

    let Some((&choice, script)) = data.split_first() else {
        return;
    };
    let transport = Scripted {
        script,
        in_flight: VecDeque::new(),
        scratch: 0,
        control: 0,
    };
    let Ok(mut card) = Card::open(transport) else {
        // The registers are a good card's and the stale-frame drain takes what it reads.
        return;
    };
    let count = usize::from(choice >> 2) % 24;
    match choice % 4 {
        0 => {
            let leaves: Leaves = (0..count).map(|i| vec![i as u8; i * 7]).collect();
            let _ = card.merkle_root(&leaves);
        }
        1 => {
            let nodes: Vec<[u8; 32]> = (0..count.max(1)).map(|i| [i as u8; 32]).collect();
            let _ = card.merkle_nodes(&nodes);
        }
        2 => {
            let message = vec![0x5a; count * 21];
            let _ = card.sha512_k(&message);
        }
        _ => {
            let key = [7u8; 32];
            let signature = [9u8; 64];
            let message = [1u8; 40];
            let items: Vec<VerifyItem<'_>> = (0..count)
                .map(|i| VerifyItem {
                    pubkey: &key,
                    signature: &signature,
                    message: &message[..i.min(40)],
                })
                .collect();
            let profile = [Profile::Strict, Profile::Rfc8032, Profile::Zip215][count % 3];
            if let Ok(verdicts) = card.verify(profile, &items) {
                assert_eq!(verdicts.len(), items.len());
            }
        }
    }
});
